#include "observe/observer.h"

#include <CivetServer.h>
#include <poll.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <sstream>

#include "net/socket.h"
#include "observe/dashboard.h"
#include "observe/pusher.h"
#include "reports/html_writer.h"

namespace sockspec::observe {

namespace {

constexpr auto kLastPushWait = std::chrono::seconds(15);

// ADDR:PORT or [V6]:PORT, numeric or a name from /etc/hosts.
struct Listen {
  net::SockAddr addr;
  std::string error;
};
Listen parse_listen(const std::string& spec) {
  Listen l;
  size_t colon = spec.rfind(':');
  std::string host = colon == std::string::npos ? "" : spec.substr(0, colon);
  std::string port = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned long n = 0;
  bool digits = !port.empty() && port.size() <= 5 &&
                port.find_first_not_of("0123456789") == std::string::npos;
  if (digits) n = std::stoul(port);
  if (host.empty() || !digits || n > 65535) {
    l.error = "--metrics " + spec + ": expected ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:0";
    return l;
  }
  auto r = net::resolve(host, static_cast<uint16_t>(n), SOCK_STREAM);
  if (r.addrs.empty()) {
    l.error = "--metrics " + spec + ": " + r.error;
    return l;
  }
  l.addr = r.addrs.front();
  return l;
}

// Binding first says what is wrong in our words (address in use, not local) before civetweb,
// which only says that it failed.
std::string check_bind(const net::SockAddr& a) {
  net::Options opts;
  opts.reuseaddr = 1;
  auto s = net::open_socket(a.family(), SOCK_STREAM, opts);
  if (!s.ok()) return s.error.to_string();
  net::NetError e = net::bind_to(s.fd.get(), a);
  return e.err ? e.to_string() : "";
}

}  // namespace

// One URI of the endpoint; reads only what was last published.
class Route : public CivetHandler {
 public:
  enum class What { metrics, live, page };
  Route(const Observer& o, What w) : observer_(o), what_(w) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    std::shared_ptr<const Published> p = observer_.published();
    std::string body;
    const char* type = "text/html; charset=utf-8";
    switch (what_) {
      case What::metrics:
        body = prometheus::TextSerializer().Serialize(p->families);
        type = "text/plain; version=0.0.4; charset=utf-8";
        break;
      case What::live:
        body = p->pages->fragment;
        break;
      case What::page: {
        const mg_request_info* info = mg_get_request_info(conn);
        std::string uri = info && info->local_uri ? info->local_uri : "";
        if (uri != "/" && uri != "/index.html") {
          mg_send_http_error(conn, 404, "%s", "not found: / (dashboard), /metrics, /live");
          return true;
        }
        body = p->pages->page;
        break;
      }
    }
    mg_send_http_ok(conn, type, static_cast<long long>(body.size()));
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  const Observer& observer_;
  What what_;
};

std::unique_ptr<Observer> Observer::start(const ObserveOptions& o, RunLabels labels,
                                          const char* page, std::ostream& err, std::string& error) {
  std::unique_ptr<Observer> ob(new Observer(std::move(labels)));
  ob->update(reports::LoadResult(), 0, 0);
  if (!o.metrics.empty()) {
    Listen l = parse_listen(o.metrics);
    if (!l.error.empty()) {
      error = l.error;
      return nullptr;
    }
    if (std::string why = check_bind(l.addr); !why.empty()) {
      error = "--metrics " + o.metrics + ": " + why;
      return nullptr;
    }
    std::string host = l.addr.family() == AF_INET6 ? "[" + l.addr.host() + "]" : l.addr.host();
    std::vector<std::string> options = {
        "listening_ports",    host + ":" + std::to_string(l.addr.port()),
        "num_threads",        "4",
        "request_timeout_ms", "10000",
        "enable_keep_alive",  "yes"};
    try {
      ob->server_ = std::make_unique<CivetServer>(options);
    } catch (const CivetException& e) {
      error = "--metrics " + o.metrics + ": the HTTP server did not start: " + e.what();
      return nullptr;
    }
    auto ports = ob->server_->getListeningPortsFull();
    int port = ports.empty() ? l.addr.port() : ports.front().port;
    ob->url_ = "http://" + host + ":" + std::to_string(port) + "/";
    ob->routes_.push_back(std::make_unique<Route>(*ob, Route::What::metrics));
    ob->server_->addHandler("/metrics", ob->routes_.back().get());
    ob->routes_.push_back(std::make_unique<Route>(*ob, Route::What::live));
    ob->server_->addHandler("/live", ob->routes_.back().get());
    ob->routes_.push_back(std::make_unique<Route>(*ob, Route::What::page));
    ob->server_->addHandler("/", ob->routes_.back().get());
  }
  if (!o.push.empty()) {
    ob->pusher_ = Pusher::start(o.push, o.push_interval_s, ob->labels_, error);
    if (!ob->pusher_) return nullptr;
    ob->pusher_->set(ob->published());
    err << "push: " << o.push << " every " << o.push_interval_s << " s and at the end\n";
  }
  if (!ob->url_.empty())
    err << "metrics: " << ob->url_ << "metrics (Prometheus), " << page << " at " << ob->url_
        << "\n";
  return ob;
}

Observer::Observer(RunLabels labels) : labels_(std::move(labels)) {}

Observer::~Observer() {
  if (server_) server_->close();  // no request is served past here
  if (pusher_) pusher_->finish(std::chrono::milliseconds(0));
}

void Observer::linger(double seconds, int cancel_fd, std::ostream& err) const {
  if (url_.empty() || seconds <= 0) return;
  err << "metrics: the final figures stay at " << url_ << " for " << seconds
      << " s (--metrics-linger; Ctrl-C ends it)\n";
  pollfd cancel{cancel_fd, POLLIN, 0};
  poll(&cancel, cancel_fd >= 0 ? 1 : 0, static_cast<int>(seconds * 1000));
}

std::shared_ptr<const Published> Observer::published() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void Observer::publish(std::shared_ptr<const Published> p) {
  if (pusher_) pusher_->set(p);
  std::lock_guard lock(mutex_);
  current_ = std::move(p);
}

void Observer::update(const reports::LoadResult& so_far, double elapsed_s, double total_s) {
  auto p = std::make_shared<Published>();
  RunClock clock{elapsed_s, false, total_s};
  p->families = load_metrics(so_far, labels_, clock);
  // Counters move ten times a second; the dashboard, which draws every chart, once.
  if (auto last = published(); last && elapsed_s < drawn_at_s_ + 1) {
    p->pages = last->pages;
  } else {
    std::string fragment = live_fragment(so_far, labels_, clock);
    std::string page = dashboard_page(fragment, labels_);
    p->pages = std::make_shared<const Pages>(Pages{std::move(fragment), std::move(page)});
    drawn_at_s_ = elapsed_s;
  }
  publish(std::move(p));
}

void Observer::update_cases(const VerdictCounts& by_verdict, uint64_t planned, double elapsed_s) {
  auto p = std::make_shared<Published>();
  p->families = run_metrics(by_verdict, planned, labels_, RunClock{elapsed_s, false, 0});
  p->pages = std::make_shared<const Pages>(Pages{"", cases_page(by_verdict, planned, labels_)});
  publish(std::move(p));
}

void Observer::finish(const reports::RunReport& report, const VerdictCounts& cases,
                      uint64_t planned, double elapsed_s, std::ostream& err) {
  auto p = std::make_shared<Published>();
  RunClock clock{elapsed_s, true, elapsed_s};
  Pages pages;
  if (report.load) {
    p->families = load_metrics(*report.load, labels_, clock);
    pages.fragment = live_fragment(*report.load, labels_, clock);
  } else {
    p->families = run_metrics(cases, planned, labels_, clock);
  }
  std::ostringstream html;
  reports::write_html(report, html);
  pages.page = html.str();
  p->pages = std::make_shared<const Pages>(std::move(pages));
  publish(std::move(p));
  if (!pusher_) return;
  bool ended = pusher_->finish(kLastPushWait);
  for (const auto& why : pusher_->problems())
    err << "push: " << pusher_->url() << ": " << why << "\n";
  if (!ended) {
    err << "push: " << pusher_->url() << " did not answer within "
        << std::chrono::duration_cast<std::chrono::seconds>(kLastPushWait).count()
        << " s; the final figures may not have reached it\n";
  }
}

}  // namespace sockspec::observe
