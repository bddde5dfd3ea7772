#include "dsl/format.h"

#include <sstream>

namespace rf::dsl {
namespace {

using K = ir::State::Kind;
constexpr size_t kWidth = 100;
constexpr int kLastLine = 1 << 30;

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

class Formatter {
 public:
  explicit Formatter(const FlowAst& f) : f_(f) {}

  std::string Run() {
    CommentsBefore(f_.name.loc.line, "");
    out_ << "workflow " << f_.name.text << " version " << f_.version << "\n";
    if (!f_.description.empty()) out_ << "  " << Quote(f_.description) << "\n";
    if (!f_.uses.empty()) {
      out_ << "\n";
      CommentsBefore(f_.uses.front().loc.line, "");
      out_ << "uses ";
      for (size_t i = 0; i < f_.uses.size(); ++i) out_ << (i ? ", " : "") << f_.uses[i].text;
      out_ << "\n";
    }
    if (!f_.inputs.empty()) {
      out_ << "\n";
      CommentsBefore(f_.inputs.front().name.loc.line, "");
      out_ << "input\n";
      for (const auto& in : f_.inputs) {
        CommentsBefore(in.name.loc.line, "  ");
        out_ << "  " << in.name.text << " " << in.type.text << (in.optional ? " optional" : "") << "\n";
      }
    }
    for (size_t i = 0; i < f_.schedules.size(); ++i) {
      const ScheduleAst& s = f_.schedules[i];
      if (i == 0) out_ << "\n";
      CommentsBefore(s.cron_loc.line, "");
      std::string head = "every " + Quote(s.cron) + " in " + Quote(s.time_zone);
      if (!s.input.empty()) head += " with";
      out_ << head << ArgsText(s.input, head.size(), "  ") << "\n";
    }
    for (size_t i = 0; i < f_.states.size(); ++i) {
      // Consecutive one-line end states (finish, fail) stay together as a block.
      bool tight = i > 0 && IsOneLiner(f_.states[i]) && IsOneLiner(f_.states[i - 1]);
      if (!tight) out_ << "\n";
      State(f_.states[i], "");
    }
    CommentsBefore(kLastLine, "");
    return out_.str();
  }

 private:
  void CommentsBefore(int line, const std::string& indent) {
    while (next_comment_ < f_.comments.size() && f_.comments[next_comment_].line < line) {
      out_ << indent << f_.comments[next_comment_].text << "\n";
      ++next_comment_;
    }
  }

  // " a = x, b = y" on one line if it fits after `used` columns, else one per line.
  static std::string ArgsText(const std::vector<Arg>& args, size_t used, const std::string& indent) {
    if (args.empty()) return {};
    std::string one;
    for (size_t i = 0; i < args.size(); ++i)
      one += (i ? ", " : " ") + args[i].name.text + " = " + ir::ExprToText(args[i].value);
    if (used + one.size() <= kWidth) return one;
    std::string many;
    for (size_t i = 0; i < args.size(); ++i)
      many += "\n" + indent + args[i].name.text + " = " + ir::ExprToText(args[i].value) +
              (i + 1 < args.size() ? "," : "");
    return many;
  }

  std::string CallText(const std::string& prefix, const CallAst& c, const std::string& indent) {
    std::string head = prefix + "call " + c.connector.text + "." + c.operation.text;
    if (c.args.empty()) return head;
    head += " with";
    return head + ArgsText(c.args, head.size(), indent + "  ");
  }

  static bool IsOneLiner(const StateAst& s) { return s.kind == K::kFinish || s.kind == K::kFail; }

  // Comments before a state and inside it (between its clauses) go above it; blocks keep the
  // comments of their nested states with those states.
  void State(const StateAst& s, const std::string& ind) {
    const bool block = s.kind == K::kParallel || s.kind == K::kForEach;
    CommentsBefore(block ? s.loc.line + 1 : std::max(s.loc.line, s.end_line) + 1, ind);
    const std::string in = ind + "  ";
    auto line = [&](const std::string& text) { out_ << in << text << "\n"; };
    auto then = [&] {
      if (s.next) line("then go to " + s.next->text);
    };
    switch (s.kind) {
      case K::kStep: {
        out_ << ind << "step " << s.name.text << "\n";
        out_ << CallText(in, s.call, in) << "\n";
        if (s.save_as) line("save result as " + s.save_as->text);
        if (s.timeout) line("timeout " + s.timeout->text);
        if (s.retry) {
          const RetryAst& r = *s.retry;
          std::string t = "retry up to " + std::to_string(r.attempts) + " times";
          if (r.first_wait) t += " waiting " + r.first_wait->text;
          if (r.multiplier) t += *r.multiplier == "2" ? " doubling" : " multiplying by " + *r.multiplier;
          if (r.max_wait) t += " up to " + r.max_wait->text;
          if (r.jitter) t += " with jitter";
          if (!r.kinds.empty()) {
            t += " on ";
            for (size_t i = 0; i < r.kinds.size(); ++i) t += (i ? ", " : "") + r.kinds[i].text;
          }
          line(t);
        }
        for (const auto& r : s.on_error) {
          std::string t = "on error ";
          for (size_t i = 0; i < r.kinds.size(); ++i) t += (i ? ", " : "") + r.kinds[i].text;
          if (!r.kinds.empty()) t += " ";
          line(t + "go to " + r.target.text);
        }
        if (s.undo) out_ << CallText(in + "undo ", *s.undo, in) << "\n";
        then();
        break;
      }
      case K::kDecide:
        out_ << ind << "decide " << s.name.text << "\n";
        for (const auto& w : s.when) line("when " + ir::ExprToText(w.condition) + " go to " + w.target.text);
        if (s.otherwise) line("otherwise go to " + s.otherwise->text);
        break;
      case K::kWait:
        out_ << ind << "wait " << s.name.text << "\n";
        switch (s.wait_kind) {
          case ir::State::WaitKind::kDuration: line("for " + s.wait_for.text); break;
          case ir::State::WaitKind::kUntil: line("until " + ir::ExprToText(s.until)); break;
          case ir::State::WaitKind::kEvent:
            line("for event " + s.event.text + " where " + s.event_key.text + " == " +
                 ir::ExprToText(s.key_value) + (s.within ? " within " + s.within->text : ""));
            break;
        }
        if (s.save_event_as) line("save event as " + s.save_event_as->text);
        if (s.on_timeout) line("on timeout go to " + s.on_timeout->text);
        then();
        break;
      case K::kApproval:
        out_ << ind << "approval " << s.name.text << "\n";
        if (s.role) line("ask " + s.role->text + " " + ir::ExprToText(s.title));
        if (s.details) line("details " + ir::ExprToText(s.details));
        if (s.deadline)
          line("if nobody decides within " + s.deadline->text + " go to " +
               (s.escalate_to ? s.escalate_to->text : std::string()));
        if (s.on_approve) line("if approved go to " + s.on_approve->text);
        if (s.on_reject) line("if rejected go to " + s.on_reject->text);
        if (s.save_decision_as) line("save decision as " + s.save_decision_as->text);
        break;
      case K::kParallel:
        out_ << ind << "parallel " << s.name.text << "\n";
        then();
        for (const auto& b : s.branches) {
          CommentsBefore(b.name.loc.line, in);
          out_ << in << "branch " << b.name.text << "\n";
          for (size_t i = 0; i < b.states.size(); ++i) {
            if (i) out_ << "\n";
            State(b.states[i], in + "  ");
          }
        }
        CommentsBefore(s.end_line, in);
        out_ << ind << "end\n";
        break;
      case K::kForEach: {
        std::string head = "for each " + s.item.text + " in " + ir::ExprToText(s.list) + " as " + s.name.text;
        if (s.concurrency) head += " at most " + std::to_string(*s.concurrency) + " at a time";
        out_ << ind << head << "\n";
        then();
        for (size_t i = 0; i < s.body.size(); ++i) {
          if (i) out_ << "\n";
          State(s.body[i], in);
        }
        CommentsBefore(s.end_line, in);
        out_ << ind << "end\n";
        break;
      }
      case K::kSet: {
        out_ << ind << "set " << s.name.text << "\n";
        for (size_t i = 0; i < s.assignments.size(); ++i)
          line(s.assignments[i].name.text + " = " + ir::ExprToText(s.assignments[i].value) +
               (i + 1 < s.assignments.size() ? "," : ""));
        then();
        break;
      }
      case K::kFinish:
      case K::kFail: {
        std::string t = s.kind == K::kFinish ? "finish" : "fail";
        if (s.name_given) t += " " + s.name.text;
        if (s.message) t += " " + ir::ExprToText(s.message);
        out_ << ind << t << "\n";
        break;
      }
    }
  }

  const FlowAst& f_;
  std::ostringstream out_;
  size_t next_comment_ = 0;
};

}  // namespace

std::string Format(const FlowAst& flow) { return Formatter(flow).Run(); }

}  // namespace rf::dsl
