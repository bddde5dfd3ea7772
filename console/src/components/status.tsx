export function StatusBadge(props: { status: string }) {
  return (
    <span class={"badge " + props.status} data-testid="status">
      {props.status}
    </span>
  );
}
