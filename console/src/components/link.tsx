import { ComponentChildren } from "preact";
import { navigate } from "../lib/router";

// An <a> that navigates inside the console without reloading (modifier clicks open as usual).
export function Link(props: { href: string; current?: boolean; children: ComponentChildren; class?: string }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}
