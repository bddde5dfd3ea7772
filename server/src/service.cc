#include "server/service.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <algorithm>
#include <thread>

#include "connectors/builtin/builtin.h"
#include "connectors/connector_set.h"
#include "dsl/catalog.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "server/api.h"
#include "server/auth.h"
#include "server/http_server.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/webhooks.h"
#include "server/workflows.h"
#include "state/keys.h"
#include "state/leveldb_store.h"

namespace rf::server {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void DeclareMetrics(Metrics& m) {
  using T = Metrics::Type;
  m.Declare("retailflow_instances_started_total", T::kCounter, "Instances started, by workflow.");
  m.Declare("retailflow_instances_finished_total", T::kCounter,
            "Instances that reached a terminal status, by workflow and status (completed, failed, "
            "compensated, cancelled, compensation_failed).");
  m.Declare("retailflow_transitions_total", T::kCounter, "Committed transitions, by workflow.");
  m.Declare("retailflow_commit_seconds", T::kHistogram,
            "Time from submitting a transition's batch to its durable commit (group commit + fsync).",
            {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1});
  m.Declare("retailflow_step_seconds", T::kHistogram,
            "Connector call latency (from dispatch to answer), by connector and operation.");
  m.Declare("retailflow_connector_errors_total", T::kCounter, "Failed connector calls, by connector and error kind.");
  m.Declare("retailflow_connector_calls_total", T::kCounter, "Answered connector calls, by connector and operation.");
  m.Declare("retailflow_circuit_breaker_open", T::kGauge,
            "Circuit breaker state per connector: 0 closed, 1 open, 0.5 half-open.");
  m.Declare("retailflow_circuit_breaker_openings_total", T::kCounter, "Times each connector's breaker opened.");
  m.Declare("retailflow_connector_in_flight", T::kGauge, "Connector calls in flight, by connector.");
  m.Declare("retailflow_connector_queued", T::kGauge, "Connector calls waiting for a slot, a token or the breaker.");
  m.Declare("retailflow_open_tasks", T::kGauge, "Open human tasks (approvals), by role.");
  m.Declare("retailflow_pending_timers", T::kGauge, "Durable timers not yet fired.");
  m.Declare("retailflow_dead_letters", T::kGauge, "Instances waiting for an operator.");
  m.Declare("retailflow_resident_instances", T::kGauge, "Instances held in memory (work in progress).");
  m.Declare("retailflow_engine_commit_groups_total", T::kCounter,
            "Commit groups written by the engine (one synced batch each, holding one or more transitions).");
  m.Declare("retailflow_engine_invocations_total", T::kCounter, "Connector invocations issued by the engine.");
  m.Declare("retailflow_engine_in_flight_invocations", T::kGauge, "Connector invocations issued and not yet answered.");
  m.Declare("retailflow_engine_errors_dropped_total", T::kCounter,
            "Engine errors with no caller to return them to (also logged as engine_error).");
  m.Declare("retailflow_engine_partitions", T::kGauge, "Partitions (one strand each) the engine runs.");
  m.Declare("retailflow_http_requests_total", T::kCounter, "HTTP requests, by route, method and status.");
  m.Declare("retailflow_http_request_seconds", T::kHistogram, "HTTP request latency, by route.");
  m.Declare("retailflow_ready", T::kGauge, "1 when the service is ready (recovered, not shutting down).");
}

std::string ReadFileText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

class Service::Impl {
 public:
  Impl(ServiceConfig c, std::string exe_dir) : config_(std::move(c)), exe_dir_(std::move(exe_dir)) {}

  ~Impl() { Shutdown(); }

  Status Start() {
    if (Status s = log::Init(config_.log_level, config_.log_file); !s.ok()) return s;
    DeclareMetrics(metrics_);
    fs::path data = config_.Resolve(config_.data_dir);
    std::error_code ec;
    fs::create_directories(data, ec);
    if (ec) return Status::IOError("cannot create data dir " + data.string() + ": " + ec.message());
    state::LevelDbOptions lo;
    lo.sync = config_.sync_commits;
    fs::path store_dir = data / "store";
    auto store = state::OpenLevelDb(store_dir.string(), lo);
    if (!store.ok()) return store.status();
    state::keys::FormatChange format;
    if (Status s = state::keys::PrepareFormat(store->get(), &format); !s.ok())
      return s.code() == Status::Code::kFailedPrecondition
                 ? Status::FailedPrecondition("store " + store_dir.string() + ": " + s.message())
                 : s;
    if (format.from > 0 && format.to > format.from)  // a migration, not a first start or a plain open
      log::Info("store migrated to a new storage format", {{"from", format.from},
                                                          {"to", format.to},
                                                          {"keys_rewritten", format.keys_rewritten},
                                                          {"snapshots_rewritten", format.snapshots_rewritten}});
    store_ = std::move(*store);

    // Connectors.
    connectors::ConnectorSetOptions co;
    connectors::AddBuiltinFactories(co.factories);
    for (auto p : config_.plugin_dirs) {
      std::string s = p.string();
      if (auto pos = s.find("{exe_dir}"); pos != std::string::npos) s.replace(pos, 9, exe_dir_);
      co.plugin_dirs.push_back(config_.Resolve(s));
    }
    co.base_dir = config_.base_dir;
    co.clock = &clock_;  // the engine's clock: deadlines, cool-downs and rate limits on one time
    co.on_call = [this](const engine::Invocation& inv, const engine::CallResult& r, std::chrono::nanoseconds el) {
      metrics_.Observe("retailflow_step_seconds", {{"connector", inv.connector}, {"operation", inv.operation}},
                       std::chrono::duration<double>(el).count());
      metrics_.Add("retailflow_connector_calls_total", {{"connector", inv.connector}, {"operation", inv.operation}});
      if (!r.ok) {
        metrics_.Add("retailflow_connector_errors_total", {{"connector", inv.connector}, {"kind", r.error_kind}});
        log::Warn("connector call failed", {{"instance_id", inv.instance_id},
                                             {"correlation_id", inv.correlation_id},
                                             {"connector", inv.connector},
                                             {"operation", inv.operation},
                                             {"attempt", inv.attempt},
                                             {"kind", r.error_kind},
                                             {"message", r.message}});
      }
    };
    co.log = [](connectors::LogLevel level, const std::string& connector, const std::string& message) {
      const char* l = level == connectors::LogLevel::kError  ? "error"
                      : level == connectors::LogLevel::kWarn ? "warn"
                      : level == connectors::LogLevel::kInfo ? "info"
                                                             : "debug";
      log::Write(l, "connector", {{"connector", connector}, {"message", message}});
    };
    auto set = connectors::ConnectorSet::Create(config_.connectors, co, io_);
    if (!set.ok()) return Status::InvalidArgument("connectors: " + set.status().message());
    connectors_ = std::move(*set);

    dsl::Catalog catalog;
    if (Status s = catalog.AddJson(connectors_->Catalog(config_.owners).dump(), "configured connectors"); !s.ok())
      return Status::InvalidArgument("connector catalog: " + s.message());

    // Engine.
    engine::EngineOptions eo;
    eo.tick_interval = Duration{config_.tick_interval.count()};
    eo.hold_failed_steps = config_.hold_failed_steps;
    eo.on_transition = [this](const engine::TransitionInfo& t) { OnTransition(t); };
    eo.partitions = config_.partitions > 0 ? config_.partitions
                                           : static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
    eo.on_dropped_error = [](const char* what, const Status& s) {
      log::Write("error", "engine_error", {{"while", what}, {"error", s.message()}});
    };
    engine_ = std::make_unique<engine::Engine>(io_, store_.get(), &clock_, connectors_.get(), eo);
    StartThreads();
    if (Status s = engine_->Recover(); !s.ok()) return s;

    workflows_ = std::make_unique<WorkflowLibrary>(engine_.get(), std::move(catalog));
    std::vector<fs::path> dirs;
    for (const auto& d : config_.workflow_dirs) dirs.push_back(config_.Resolve(d));
    LogDeploys(workflows_->LoadDirs(dirs));

    // Credentials.
    tokens_ = std::make_unique<TokenStore>(store_.get(), config_.tokens, TokenPolicy{config_.token_expiry},
                                           [this] { return clock_.Now(); });
    const char* preset = std::getenv("RETAILFLOW_ADMIN_TOKEN");
    auto admin = tokens_->EnsureAdmin(preset ? preset : "");
    if (!admin.ok()) return admin.status();
    if (!preset) new_admin_token_ = *admin;
    for (auto& [name, src] : config_.webhooks) {
      if (!src.secret_from_data_dir) continue;
      fs::path dir = data / "secrets";
      fs::create_directories(dir, ec);
      fs::path file = dir / ("webhook-" + name);
      std::string secret = ReadFileText(file);
      while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
      if (secret.empty()) {
        secret = NewWebhookSecret();
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out << secret << "\n";
        out.close();
        fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, ec);
        new_webhook_secrets_.emplace_back(name, secret);
      }
      src.secrets.push_back(secret);
    }
    webhooks_ = std::make_unique<WebhookIngress>(config_.webhooks, store_.get(), engine_.get(), &metrics_);
    sweep_timer_.emplace(io_);
    ScheduleSweep(std::chrono::seconds(5));

    // Metrics computed at scrape time.
    metrics_.AddCollector([this](Metrics& m) { Collect(m); });

    ApiDeps deps;
    deps.engine = engine_.get();
    deps.tokens = tokens_.get();
    deps.metrics = &metrics_;
    deps.workflows = workflows_.get();
    deps.webhooks = webhooks_.get();
    deps.ready = [this] { return ready_.load(); };
    deps.connectors = [this] { return ConnectorsJson(); };
    deps.limits = config_.limits;
    if (config_.adjustable_clock) {
      deps.advance_clock = [this](Duration d) {
        clock_.Advance(d);
        log::Warn("clock advanced", {{"by_ms", d.ms}, {"offset_ms", clock_.offset().ms}});
        if (engine_) engine_->Tick();
        return clock_.Now();
      };
    }
    api_ = std::make_unique<Api>(std::move(deps));

    HttpServerOptions ho;
    ho.host = config_.listen_host;
    ho.port = config_.listen_port;
    ho.tls_cert = config_.tls_cert;
    ho.tls_key = config_.tls_key;
    ho.limits = config_.limits;
    ho.on_request = [this](const AccessLogEntry& e) { OnRequest(e); };
    http_ = std::make_unique<HttpServer>(io_, ho, api_.get());
    if (Status s = http_->Start(); !s.ok()) return s;
    ready_ = true;
    log::Info("service ready", {{"listen", config_.listen_host + ":" + std::to_string(http_->port())},
                                {"tls", !config_.tls_cert.empty()},
                                {"data_dir", data.string()}});
    return Status::Ok();
  }

  // Housekeeping every 10 minutes: delivery ids of webhooks past their replay window.
  void ScheduleSweep(std::chrono::seconds after) {
    sweep_timer_->expires_after(after);
    sweep_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      auto now = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
      auto swept = webhooks_->SweepOldDeliveries(now);
      if (!swept.ok())
        log::Warn("webhook id sweep failed", {{"error", swept.status().message()}});
      else if (*swept > 0)
        log::Info("webhook ids forgotten after their replay window", {{"count", *swept}});
      ScheduleSweep(std::chrono::seconds(600));
    });
  }

  void StartThreads() {
    work_.emplace(io_.get_executor());
    int n = std::max(2, config_.http_threads + 1);
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void LogDeploys(const std::vector<DeployOutcome>& outcomes) {
    for (const auto& o : outcomes) {
      if (o.ok()) {
        log::Info(o.http_status == 201 ? "workflow deployed" : "workflow unchanged",
                  {{"workflow", o.workflow}, {"version", o.version}, {"origin", o.origin}});
      } else {
        log::Error("workflow refused", {{"origin", o.origin}, {"error", o.error}, {"diagnostics", o.diagnostics}});
        std::cerr << o.diagnostics_text << o.error << "\n";
      }
    }
  }

  void OnTransition(const engine::TransitionInfo& t) {
    metrics_.Add("retailflow_transitions_total", {{"workflow", t.workflow}});
    metrics_.Observe("retailflow_commit_seconds", {}, t.commit_seconds);
    if (t.old_status.empty()) metrics_.Add("retailflow_instances_started_total", {{"workflow", t.workflow}});
    if (engine::IsTerminalStatus(t.status) && !engine::IsTerminalStatus(t.old_status))
      metrics_.Add("retailflow_instances_finished_total", {{"workflow", t.workflow}, {"status", t.status}});
    json events = json::array();
    for (const auto& [type, state] : t.events)
      events.push_back(state.empty() ? json{{"type", type}} : json{{"type", type}, {"state", state}});
    log::Info("transition", {{"instance_id", t.instance_id},
                             {"correlation_id", t.correlation_id},
                             {"workflow", t.workflow},
                             {"business_key", t.business_key},
                             {"from", t.old_status},
                             {"to", t.status},
                             {"events", events}});
  }

  void OnRequest(const AccessLogEntry& e) {
    metrics_.Add("retailflow_http_requests_total",
                 {{"route", e.route}, {"method", e.method}, {"status", std::to_string(e.status)}});
    metrics_.Observe("retailflow_http_request_seconds", {{"route", e.route}}, e.seconds);
    // The path is logged without its query string: queries may carry business keys, never
    // credentials, but keeping logs to the route is the safer default.
    std::string path = e.target.substr(0, e.target.find('?'));
    log::Info("request", {{"request_id", e.request_id},
                          {"method", e.method},
                          {"path", path},
                          {"route", e.route},
                          {"status", e.status},
                          {"principal", e.principal},
                          {"remote", e.remote},
                          {"ms", e.seconds * 1000},
                          {"bytes_in", e.request_bytes},
                          {"bytes_out", e.response_bytes}});
  }

  void Collect(Metrics& m) {
    m.Set("retailflow_ready", {}, ready_ ? 1 : 0);
    if (engine_) {
      engine::EngineStats st = engine_->stats();
      m.Set("retailflow_resident_instances", {}, static_cast<double>(st.resident_instances));
      m.Set("retailflow_engine_commit_groups_total", {}, static_cast<double>(st.commits));
      m.Set("retailflow_engine_invocations_total", {}, static_cast<double>(st.invocations));
      m.Set("retailflow_engine_in_flight_invocations", {}, static_cast<double>(st.in_flight_invocations));
      m.Set("retailflow_engine_errors_dropped_total", {}, static_cast<double>(st.errors_dropped));
      m.Set("retailflow_engine_partitions", {}, st.partitions);
    }
    if (connectors_) {
      for (const auto& s : connectors_->States()) {
        Labels l{{"connector", s.name}};
        m.Set("retailflow_circuit_breaker_open", l, s.breaker == "open" ? 1 : s.breaker == "half_open" ? 0.5 : 0);
        m.Set("retailflow_circuit_breaker_openings_total", l, static_cast<double>(s.counters.breaker_openings));
        m.Set("retailflow_connector_in_flight", l, static_cast<double>(s.counters.in_flight));
        m.Set("retailflow_connector_queued", l, static_cast<double>(s.counters.queued));
      }
    }
    if (!store_) return;
    std::map<std::string, double> by_role;
    (void)store_->ScanPrefix(state::keys::OpenTaskPrefix(), [&](std::string_view k, std::string_view) {
      if (auto open = state::keys::ParseOpenTask(k)) by_role[open->role] += 1;
      return true;
    });
    m.Clear("retailflow_open_tasks");
    for (const auto& [role, n] : by_role) m.Set("retailflow_open_tasks", {{"role", role}}, n);
    double timers = 0, dead = 0;
    (void)store_->ScanPrefix(state::keys::TimerPrefix(), [&](std::string_view, std::string_view) { return ++timers, true; });
    (void)store_->ScanPrefix(state::keys::DeadLetterPrefix(), [&](std::string_view, std::string_view) { return ++dead, true; });
    m.Set("retailflow_pending_timers", {}, timers);
    m.Set("retailflow_dead_letters", {}, dead);
  }

  json ConnectorsJson() {
    json items = json::array();
    if (!connectors_) return items;
    for (const auto& s : connectors_->States()) {
      items.push_back({{"name", s.name},
                       {"type", s.type},
                       {"system", s.system},
                       {"breaker", s.breaker},
                       {"calls", s.counters.calls},
                       {"succeeded", s.counters.succeeded},
                       {"in_flight", s.counters.in_flight},
                       {"queued", s.counters.queued},
                       {"errors", s.counters.errors},
                       {"breaker_openings", s.counters.breaker_openings},
                       {"late_answers", s.counters.late_answers}});
    }
    return items;
  }

  void Shutdown() {
    if (stopped_.exchange(true)) return;
    ready_ = false;
    log::Info("shutting down");
    if (http_) {
      http_->Stop();
      for (int i = 0; i < 500 && http_->in_flight() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (engine_) {
      // Let work already under way commit; calls still in flight stay in the outbox.
      for (int i = 0; i < 200 && engine_->Busy(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      engine_.reset();
    }
    if (connectors_) connectors_->Shutdown();
    if (sweep_timer_) boost::asio::post(io_, [this] { sweep_timer_->cancel(); });
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
    http_.reset();
    connectors_.reset();
    store_.reset();
    log::Info("stopped");
    log::Flush();
  }

  ServiceConfig config_;
  std::string exe_dir_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::optional<boost::asio::steady_timer> sweep_timer_;
  engine::AdjustableClock clock_;  // the system clock unless adjustable_clock is configured
  Metrics metrics_;
  std::unique_ptr<state::StateStore> store_;
  std::unique_ptr<connectors::ConnectorSet> connectors_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<WorkflowLibrary> workflows_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<WebhookIngress> webhooks_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
  std::string new_admin_token_;
  std::vector<std::pair<std::string, std::string>> new_webhook_secrets_;
};

Service::Service(ServiceConfig config, std::string exe_dir)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(exe_dir))) {}
Service::~Service() = default;
Status Service::Start() { return impl_->Start(); }
std::uint16_t Service::port() const { return impl_->http_ ? impl_->http_->port() : 0; }
bool Service::ready() const { return impl_->ready_; }
const std::string& Service::new_admin_token() const { return impl_->new_admin_token_; }
const std::vector<std::pair<std::string, std::string>>& Service::new_webhook_secrets() const {
  return impl_->new_webhook_secrets_;
}
void Service::Reload() {
  if (impl_->workflows_) impl_->LogDeploys(impl_->workflows_->LoadDirs({}));
}
void Service::Shutdown() { impl_->Shutdown(); }

int Service::Run() {
  Status s = Start();
  if (!s.ok()) {
    std::cerr << "retailflow serve: " << s.message() << "\n";
    log::Error("start failed", {{"error", s.message()}});
    Shutdown();
    return 1;
  }
  std::string scheme = impl_->config_.tls_cert.empty() ? "http" : "https";
  std::cerr << "retailflow serving on " << scheme << "://" << impl_->config_.listen_host << ":" << port() << std::endl;
  if (!new_admin_token().empty())
    std::cerr << "\n  First start: admin token (shown once, stored hashed):\n    " << new_admin_token() << "\n\n";
  for (const auto& [source, secret] : new_webhook_secrets())
    std::cerr << "  First start: webhook secret for source `" << source << "` (kept in the data dir):\n    "
              << secret << std::endl;

  boost::asio::io_context signals_io;
  boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);
  bool stop = false;
  std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      log::Info("reload requested (SIGHUP)");
      Reload();
      signals.async_wait(on_signal);
      return;
    }
    log::Info("signal received", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    stop = true;
  };
  signals.async_wait(on_signal);
  while (!stop) signals_io.run_one();
  Shutdown();
  return 0;
}

int ServeMain(const std::string& config_file, const std::string& exe_dir, const ServeOverrides& overrides) {
  Result<ServiceConfig> config = config_file.empty() ? ParseConfig(EmbeddedDefaultConfig(), fs::current_path())
                                                     : LoadConfigFile(config_file);
  if (!config.ok()) {
    std::cerr << "retailflow serve: " << config.status().message() << "\n";
    return 2;
  }
  if (!overrides.listen.empty()) {
    size_t colon = overrides.listen.rfind(':');
    int port = colon == std::string::npos ? -1 : std::atoi(overrides.listen.c_str() + colon + 1);
    if (port < 0 || port > 65535) {
      std::cerr << "retailflow serve: --listen expects host:port, got " << overrides.listen << "\n";
      return 2;
    }
    config->listen_host = overrides.listen.substr(0, colon);
    config->listen_port = static_cast<std::uint16_t>(port);
  }
  if (overrides.adjustable_clock) config->adjustable_clock = true;
  if (!overrides.data_dir.empty()) config->data_dir = fs::absolute(overrides.data_dir);
  if (!overrides.workflow_dirs.empty()) {
    config->workflow_dirs.clear();
    for (const auto& d : overrides.workflow_dirs) config->workflow_dirs.push_back(fs::absolute(d));
  }
  Service service(std::move(*config), exe_dir);
  return service.Run();
}

}  // namespace rf::server
