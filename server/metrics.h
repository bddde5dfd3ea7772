// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format (version 0.0.4) that `promtool check metrics` accepts. Thread-safe.
//
// Families are declared once with their help text; label values are escaped on output. Never put
// a token, secret or customer data in a label.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rf::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  enum class Type { kCounter, kGauge, kHistogram };

  void Declare(const std::string& name, Type type, const std::string& help,
               std::vector<double> buckets = {});
  void Add(const std::string& name, const Labels& labels, double v = 1);  // counter
  void Set(const std::string& name, const Labels& labels, double v);       // gauge
  void Observe(const std::string& name, const Labels& labels, double v);   // histogram
  // Gauges computed at scrape time (open tasks, breaker states, ...). A collector sets values
  // with Set(); gauges it no longer sets keep their last value unless it calls Clear(name).
  void AddCollector(std::function<void(Metrics&)> collector);
  void Clear(const std::string& name);

  std::string Render();

  static std::vector<double> LatencyBuckets();  // seconds: 1 ms .. 60 s

 private:
  struct Histogram {
    std::vector<double> counts;  // per bucket (non-cumulative), + Inf last
    double sum = 0;
    double count = 0;
  };
  struct Family {
    Type type = Type::kCounter;
    std::string help;
    std::vector<double> buckets;
    std::map<Labels, double> values;
    std::map<Labels, Histogram> histograms;
  };
  std::mutex mu_;
  std::map<std::string, Family> families_;
  std::vector<std::function<void(Metrics&)>> collectors_;
};

}  // namespace rf::server
