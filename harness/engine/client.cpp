#include "engine/client.h"

#include <algorithm>

#include "engine/case_run.h"

namespace sockspec::engine {

namespace {
double ms_since(net::Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(net::Clock::now() - t).count();
}

// Ops whose own fields say how long they take; the default step timeout does not cut them.
bool sets_own_duration(const scenario::Op& op) {
  return std::holds_alternative<scenario::SleepOp>(op) ||
         std::holds_alternative<scenario::ExpectSilenceOp>(op) ||
         std::holds_alternative<scenario::ServerOp>(op) ||
         std::holds_alternative<scenario::RepeatOp>(op) ||
         std::holds_alternative<scenario::ParallelOp>(op);
}
}  // namespace

Client::Client(CaseRun& run, const scenario::Steps& steps, scenario::VarValues vars,
               std::string path_prefix, net::Deadline deadline, std::string deadline_what,
               std::function<void()> on_finish)
    : run_(run), base_vars_(std::move(vars)), on_finish_(std::move(on_finish)) {
  if (base_vars_.captures) captures_ = *base_vars_.captures;  // a parallel copy: its parent's
  base_vars_.captures = nullptr;
  Frame bottom;
  bottom.steps = &steps;
  bottom.path = std::move(path_prefix);
  bottom.deadline = deadline;
  bottom.deadline_what = std::move(deadline_what);
  frames_.push_back(std::move(bottom));
}

void Client::start() { pump(kStart); }

void Client::run_steps(const scenario::Steps& steps, std::function<void()> on_finish,
                       std::optional<uint64_t> i) {
  list_i_ = i;
  run_.env().loop.disarm(*this);
  Frame bottom;
  bottom.steps = &steps;
  bottom.deadline = frames_.front().deadline;
  bottom.deadline_what = frames_.front().deadline_what;
  frames_.clear();
  frames_.push_back(std::move(bottom));
  machine_.reset();
  step_ = nullptr;
  // Released, not just cleared: an idle virtual user (thousands of them) keeps no results.
  results_ = {};
  on_finish_ = std::move(on_finish);
  bytes_sent_ = bytes_received_ = 0;
  finished_ = failed_ = wake_pending_ = false;
  first_send_ = last_expect_ = {};
  start();
}

void Client::on_event(uint32_t ev) {
  if (ev == 0 && wake_pending_) ev = kWake;
  wake_pending_ = false;
  pump(ev);
}

void Client::schedule_wake() {
  if (finished_) return;
  wake_pending_ = true;
  run_.env().loop.post(*this);
}

void Client::abort(const std::string& why) {
  if (finished_) return;
  run_.env().loop.disarm(*this);
  if (step_ != nullptr) {
    reports::StepResult r = machine_ ? std::move(machine_->result) : reports::StepResult{};
    r.path = frames_.back().path + std::to_string(frames_.back().pc);
    r.op = scenario::op_name(step_->op);
    r.pointer = step_->pointer;
    r.verdict = reports::Verdict::fail;
    r.message = why;
    r.elapsed_ms = ms_since(step_started_);
    results_.push_back(std::move(r));
  }
  if (machine_) machine_->cancel(why);
  machine_.reset();
  failed_ = true;
  finished_ = true;  // no on_finish: the parent that aborts already knows
}

scenario::VarValues Client::step_vars() const {
  scenario::VarValues v = base_vars_;
  if (list_i_) v.i = list_i_;
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    if (it + 1 != frames_.rend()) {  // every frame but the bottom one is a repeat
      v.i = it->iter;
      break;
    }
  }
  if (!captures_.empty()) v.captures = &captures_;
  v.conn_local_port = [this](const std::string& name) -> std::optional<uint16_t> {
    auto c = conns_.find(name);
    if (c == conns_.end() || !c->second.fd) return std::nullopt;
    return net::local_address(c->second.fd.get()).port();
  };
  return v;
}

std::pair<net::Deadline, std::string> Client::deadline_for(const scenario::Step& s) const {
  const Frame& f = frames_.back();
  uint64_t ms = 0;
  std::string what;
  if (s.timeout_ms || !sets_own_duration(s.op)) {
    auto t = s.timeout_ms ? scale_timeout(*s.timeout_ms, "the step's", run_.env().timeout_scale)
                          : scale_timeout(run_.env().default_timeout_ms, "the default",
                                          run_.env().timeout_scale);
    ms = t.ms;
    what = std::move(t.what);
  }
  if (ms == 0) return {f.deadline, f.deadline_what};
  auto d = net::Clock::now() + std::chrono::milliseconds(ms);
  if (f.deadline < d) return {f.deadline, f.deadline_what};
  return {d, what};
}

// Moves to the next step, entering and leaving repeat frames; makes its machine.
bool Client::begin_next_step() {
  for (;;) {
    Frame& f = frames_.back();
    if (f.pc == f.steps->size()) {
      if (frames_.size() == 1) return false;
      if (next_iteration()) {
        f.pc = 0;
        continue;
      }
      if (finished_) return false;
      continue;
    }
    const scenario::Step& s = (*f.steps)[f.pc];
    auto [deadline, what] = deadline_for(s);
    if (const auto* rep = std::get_if<scenario::RepeatOp>(&s.op)) {
      Frame inner;
      inner.steps = &rep->steps;
      inner.times = rep->times;
      if (rep->until) inner.until = &*rep->until;
      inner.path = f.path + std::to_string(f.pc) + ".";
      inner.deadline = deadline;
      inner.deadline_what = what;
      inner.container = std::make_unique<reports::StepResult>();
      inner.container->path = f.path + std::to_string(f.pc);
      inner.container->op = "repeat";
      inner.container->label = s.label;
      inner.container->pointer = s.pointer;
      inner.started = net::Clock::now();
      frames_.push_back(std::move(inner));
      continue;
    }
    step_ = &s;
    step_started_ = net::Clock::now();
    machine_ = make_machine(
        StepScope{run_.env(), conns_, step_vars(), *this, f.path + std::to_string(f.pc)}, s,
        deadline, what);
    return true;
  }
}

bool Client::next_iteration() {
  Frame& f = frames_.back();
  auto verdict = reports::Verdict::pass;
  std::string message;
  if (f.until) {
    // ${i} is the iteration that just ended; the body's captures and sets are visible.
    auto v = scenario::eval(*f.until, step_vars());
    if (!v.error.empty()) {
      verdict = reports::Verdict::error;
      message = "until: " + v.error;
    } else if (v.value != 0) {
      message = "until \"" + f.until->source + "\" held after " + std::to_string(f.iter + 1) +
                " iteration(s)";
    } else if (f.iter + 1 < f.times) {
      ++f.iter;
      return true;
    } else {
      verdict = reports::Verdict::fail;
      message = "until \"" + f.until->source + "\" still false after max " +
                std::to_string(f.times) + " iterations";
      if (!captures_.empty()) message += " (" + captures_.describe() + ")";
    }
  } else if (++f.iter < f.times) {
    return true;
  } else {
    message = std::to_string(f.times) + " iterations";
  }
  reports::StepResult r = std::move(*f.container);
  r.verdict = verdict;
  r.elapsed_ms = ms_since(f.started);
  r.message = std::move(message);
  frames_.pop_back();
  ++frames_.back().pc;  // past the repeat step itself
  complete(std::move(r), {});
  return false;
}

void Client::pump(uint32_t ev) {
  while (!finished_) {
    if (!machine_) {
      if (!begin_next_step()) {
        finish();
        return;
      }
      ev = kStart;
    }
    Progress p = machine_->advance(ev);
    if (!p.done) {
      run_.env().loop.arm(*this, p.fd, p.events, p.deadline);
      return;
    }
    reports::StepResult r = std::move(machine_->result);
    std::vector<reports::StepResult> extra = std::move(machine_->extra_results);
    machine_.reset();
    r.path = frames_.back().path + std::to_string(frames_.back().pc);
    r.op = scenario::op_name(step_->op);
    r.label = step_->label;
    r.pointer = step_->pointer;
    r.elapsed_ms = ms_since(step_started_);
    if (std::holds_alternative<scenario::SendOp>(step_->op) &&
        first_send_ == net::Clock::time_point{}) {
      first_send_ = step_started_;
    } else if (std::holds_alternative<scenario::ExpectOp>(step_->op)) {
      last_expect_ = net::Clock::now();
    }
    step_ = nullptr;
    ++frames_.back().pc;
    complete(std::move(r), std::move(extra));
    ev = kStart;
  }
}

// Records a finished step: top-level steps always, nested ones only when they fail (a
// repeat of a million iterations must not make a million rows). Bytes add up either way.
void Client::complete(reports::StepResult r, std::vector<reports::StepResult> extra) {
  bytes_sent_ += r.bytes_sent;
  bytes_received_ += r.bytes_received;
  for (size_t i = 1; i < frames_.size(); ++i) {
    frames_[i].container->bytes_sent += r.bytes_sent;
    frames_[i].container->bytes_received += r.bytes_received;
  }
  bool ok = r.verdict == reports::Verdict::pass;
  if (ok) {
    if (frames_.size() == 1) {
      results_.push_back(std::move(r));
      for (auto& e : extra) results_.push_back(std::move(e));
    }
    return;
  }
  // A parallel copy or a virtual user (they have a ${client}) says what it had captured: the
  // case's report shows only the main script's captures.
  if (base_vars_.client && !captures_.empty()) r.message += "; captured " + captures_.describe();
  // A failure ends the client. Report the outermost repeat it happened in, then the step.
  if (frames_.size() > 1) {
    Frame& top = frames_[1];
    reports::StepResult c = std::move(*top.container);
    c.verdict = r.verdict;
    c.elapsed_ms = ms_since(top.started);
    c.message = "iteration " + std::to_string(top.iter) + " of " + std::to_string(top.times) +
                ": step " + r.path + " " + r.op + (r.label.empty() ? "" : " (" + r.label + ")") +
                ": " + r.message;
    results_.push_back(std::move(c));
    std::string where;
    for (size_t i = 1; i < frames_.size(); ++i) {
      where += (where.empty() ? "" : ", ") + std::string("${i}=") + std::to_string(frames_[i].iter);
    }
    r.message = "[" + where + "] " + r.message;
  }
  results_.push_back(std::move(r));
  for (auto& e : extra) results_.push_back(std::move(e));
  failed_ = true;
  finish();
}

void Client::finish() {
  if (finished_) return;
  finished_ = true;
  run_.env().loop.disarm(*this);
  if (on_finish_) on_finish_();
}

}  // namespace sockspec::engine
