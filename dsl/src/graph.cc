#include "dsl/graph.h"

#include <functional>
#include <sstream>

#include "common/time_text.h"

namespace rf::dsl {
namespace {

using K = ir::State::Kind;

struct Edge {
  std::string from, to, label;
  bool dashed = false;
};

struct Node {
  std::string id, label;
  K kind;
};

// Flattens regions into nodes and edges; nested regions get an entry and an exit edge.
struct Picture {
  std::vector<Node> nodes;
  std::vector<Edge> edges;
  struct Cluster {
    std::string id, label;
    std::vector<std::string> members;
    std::vector<size_t> children;
  };
  std::vector<Cluster> clusters;

  static std::string Id(const std::string& prefix, const std::string& name) { return prefix + name; }

  // Adds a region; returns the ids of the states whose completion ends the region.
  std::vector<std::string> AddRegion(const ir::Region& r, const std::string& prefix, int cluster) {
    std::vector<std::string> exits;
    for (const auto& s : r.states) {
      std::string id = Id(prefix, s.name);
      if (cluster >= 0) clusters[static_cast<size_t>(cluster)].members.push_back(id);
      nodes.push_back({id, Label(s), s.kind});
      auto to = [&](const std::string& target, std::string label, bool dashed = false) {
        if (target.empty()) {
          exits.push_back(id);
          return;
        }
        edges.push_back({id, Id(prefix, target), std::move(label), dashed});
      };
      switch (s.kind) {
        case K::kStep:
          to(s.next, "");
          for (const auto& e : s.on_error) {
            std::string kinds;
            for (size_t i = 0; i < e.kinds.size(); ++i) kinds += (i ? ", " : "") + e.kinds[i];
            edges.push_back({id, Id(prefix, e.target), "error: " + (kinds.empty() ? std::string("any") : kinds), false});
          }
          if (s.undo) {
            std::string undo_id = id + "__undo";
            nodes.push_back({undo_id, "undo: " + s.undo->connector + "." + s.undo->operation, K::kStep});
            if (cluster >= 0) clusters[static_cast<size_t>(cluster)].members.push_back(undo_id);
            edges.push_back({id, undo_id, "undo", true});
          }
          break;
        case K::kDecide:
          for (const auto& [cond, target] : s.when) to(target, "when " + ir::ExprToText(cond));
          to(s.otherwise, "otherwise");
          break;
        case K::kWait:
          to(s.next, s.wait_kind == ir::State::WaitKind::kEvent ? "event " + s.event : "");
          if (!s.on_timeout.empty()) to(s.on_timeout, "timeout" + (s.within ? " " + FormatDuration(*s.within) : ""));
          break;
        case K::kApproval:
          to(s.on_approve, "approve");
          to(s.on_reject, "reject");
          if (!s.escalate_to.empty())
            to(s.escalate_to, "no decision in " + (s.deadline ? FormatDuration(*s.deadline) : std::string("?")));
          break;
        case K::kParallel:
        case K::kForEach: {
          std::vector<std::pair<std::string, std::shared_ptr<ir::Region>>> regions =
              s.kind == K::kParallel ? s.branches
                                     : std::vector<std::pair<std::string, std::shared_ptr<ir::Region>>>{{"body", s.body}};
          std::string join = id + "__join";
          for (const auto& [bname, region] : regions) {
            if (!region) continue;
            size_t c = clusters.size();
            clusters.push_back({id + "__" + bname,
                                s.kind == K::kParallel ? "branch " + bname
                                                       : "for each " + s.item + " (" + std::to_string(s.concurrency) + " at a time)",
                                {}, {}});
            if (cluster >= 0) clusters[static_cast<size_t>(cluster)].children.push_back(c);
            std::string sub_prefix = id + "__" + bname + "__";
            edges.push_back({id, Id(sub_prefix, region->start), s.kind == K::kParallel ? "start " + bname : "each " + s.item, false});
            for (const auto& exit : AddRegion(*region, sub_prefix, static_cast<int>(c)))
              edges.push_back({exit, join, "", false});
          }
          nodes.push_back({join, s.kind == K::kParallel ? "join all" : "all done", K::kSet});
          if (cluster >= 0) clusters[static_cast<size_t>(cluster)].members.push_back(join);
          if (s.next.empty()) {
            exits.push_back(join);
          } else {
            edges.push_back({join, Id(prefix, s.next), "", false});
          }
          break;
        }
        case K::kSet:
          to(s.next, "");
          break;
        case K::kFinish:
          if (cluster >= 0) exits.push_back(id);
          break;
        case K::kFail:
          break;
      }
    }
    return exits;
  }

  static std::string Label(const ir::State& s) {
    switch (s.kind) {
      case K::kStep: return s.name + "\\n" + s.call.connector + "." + s.call.operation;
      case K::kDecide: return s.name + "?";
      case K::kWait:
        switch (s.wait_kind) {
          case ir::State::WaitKind::kDuration: return s.name + "\\nwait " + FormatDuration(s.wait_for);
          case ir::State::WaitKind::kUntil: return s.name + "\\nwait until " + ir::ExprToText(s.until);
          case ir::State::WaitKind::kEvent: return s.name + "\\nwait for " + s.event;
        }
        return s.name;
      case K::kApproval: return s.name + "\\napproval by " + s.role;
      case K::kParallel: return s.name + "\\nparallel";
      case K::kForEach: return s.name + "\\nfor each " + s.item;
      case K::kSet: return s.name + "\\nset";
      case K::kFinish: return s.name;
      case K::kFail: return s.name + "\\nfail";
    }
    return s.name;
  }
};

std::string Escape(const std::string& s, bool mermaid) {
  std::string out;
  for (char c : s) {
    if (c == '"') {
      out += mermaid ? "#quot;" : "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

const char* DotShape(K k) {
  switch (k) {
    case K::kStep: return "box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\"";
    case K::kDecide: return "diamond, style=filled, fillcolor=\"#fff4ce\"";
    case K::kWait: return "ellipse, style=filled, fillcolor=\"#eeeeee\"";
    case K::kApproval: return "hexagon, style=filled, fillcolor=\"#fde7d9\"";
    case K::kParallel: return "box, style=\"bold,filled\", fillcolor=\"#ddeedd\"";
    case K::kForEach: return "box3d, style=filled, fillcolor=\"#ddeedd\"";
    case K::kSet: return "box, style=\"dotted\"";
    case K::kFinish: return "doublecircle, style=filled, fillcolor=\"#c8e6c9\"";
    case K::kFail: return "octagon, style=filled, fillcolor=\"#ffcdd2\"";
  }
  return "box";
}

}  // namespace

std::string ToDot(const ir::Machine& m) {
  Picture p;
  p.AddRegion(m.main, "", -1);
  std::ostringstream out;
  out << "digraph \"" << Escape(m.name, false) << "\" {\n";
  out << "  label=\"" << Escape(m.name, false) << " v" << m.version << "\";\n";
  out << "  labelloc=t; rankdir=TB; node [fontname=\"Helvetica\"]; edge [fontname=\"Helvetica\", fontsize=10];\n";
  out << "  __start [shape=point, width=0.2];\n";
  out << "  __start -> \"" << m.main.start << "\";\n";
  std::vector<bool> in_cluster(p.nodes.size(), false);
  std::function<void(size_t, int)> cluster = [&](size_t c, int depth) {
    std::string ind(static_cast<size_t>(2 * depth), ' ');
    out << ind << "subgraph \"cluster_" << p.clusters[c].id << "\" {\n";
    out << ind << "  label=\"" << Escape(p.clusters[c].label, false) << "\"; style=dashed;\n";
    for (const auto& id : p.clusters[c].members) out << ind << "  \"" << id << "\";\n";
    for (size_t child : p.clusters[c].children) cluster(child, depth + 1);
    out << ind << "}\n";
  };
  for (const auto& n : p.nodes) {
    out << "  \"" << n.id << "\" [label=\"" << Escape(n.label, false) << "\", shape="
        << (n.id.size() > 6 && n.id.compare(n.id.size() - 6, 6, "__undo") == 0
                ? "note, style=dashed"
                : DotShape(n.kind))
        << "];\n";
  }
  std::vector<bool> is_child(p.clusters.size(), false);
  for (const auto& c : p.clusters)
    for (size_t child : c.children) is_child[child] = true;
  for (size_t c = 0; c < p.clusters.size(); ++c)
    if (!is_child[c]) cluster(c, 1);
  for (const auto& e : p.edges) {
    out << "  \"" << e.from << "\" -> \"" << e.to << "\"";
    std::string attrs;
    if (!e.label.empty()) attrs += "label=\"" + Escape(e.label, false) + "\"";
    if (e.dashed) attrs += std::string(attrs.empty() ? "" : ", ") + "style=dashed";
    if (!attrs.empty()) out << " [" << attrs << "]";
    out << ";\n";
  }
  out << "}\n";
  return out.str();
}

std::string ToMermaid(const ir::Machine& m) {
  Picture p;
  p.AddRegion(m.main, "", -1);
  std::ostringstream out;
  out << "flowchart TD\n";
  out << "  __start((start)) --> " << m.main.start << "\n";
  auto shape = [](const Node& n) {
    std::string l = n.label;
    for (size_t pos; (pos = l.find("\\n")) != std::string::npos;) l.replace(pos, 2, "<br/>");
    l = Escape(l, true);
    if (n.id.size() > 6 && n.id.compare(n.id.size() - 6, 6, "__undo") == 0) return "[/\"" + l + "\"/]";
    switch (n.kind) {
      case K::kDecide: return "{\"" + l + "\"}";
      case K::kWait: return "([\"" + l + "\"])";
      case K::kApproval: return "{{\"" + l + "\"}}";
      case K::kFinish: return "(((\"" + l + "\")))";
      case K::kFail: return "[[\"" + l + "\"]]";
      default: return "[\"" + l + "\"]";
    }
  };
  std::vector<bool> placed(p.nodes.size(), false);
  auto node_index = [&](const std::string& id) -> size_t {
    for (size_t i = 0; i < p.nodes.size(); ++i)
      if (p.nodes[i].id == id) return i;
    return p.nodes.size();
  };
  std::vector<bool> is_child(p.clusters.size(), false);
  for (const auto& c : p.clusters)
    for (size_t child : c.children) is_child[child] = true;
  std::function<void(size_t, int)> cluster = [&](size_t c, int depth) {
    std::string ind(static_cast<size_t>(2 * depth), ' ');
    out << ind << "subgraph " << p.clusters[c].id << " [\"" << Escape(p.clusters[c].label, true) << "\"]\n";
    for (const auto& id : p.clusters[c].members) {
      size_t i = node_index(id);
      if (i < p.nodes.size()) {
        out << ind << "  " << id << shape(p.nodes[i]) << "\n";
        placed[i] = true;
      }
    }
    for (size_t child : p.clusters[c].children) cluster(child, depth + 1);
    out << ind << "end\n";
  };
  for (size_t c = 0; c < p.clusters.size(); ++c)
    if (!is_child[c]) cluster(c, 1);
  for (size_t i = 0; i < p.nodes.size(); ++i)
    if (!placed[i]) out << "  " << p.nodes[i].id << shape(p.nodes[i]) << "\n";
  for (const auto& e : p.edges) {
    out << "  " << e.from << (e.dashed ? " -.->" : " -->");
    if (!e.label.empty()) out << "|\"" << Escape(e.label, true) << "\"|";
    out << " " << e.to << "\n";
  }
  return out.str();
}

}  // namespace rf::dsl
