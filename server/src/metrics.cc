#include "server/metrics.h"

#include <cmath>
#include <sstream>

namespace rf::server {

namespace {

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
  return out;
}

std::string Num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream ss;
  ss.precision(9);
  ss << v;
  return ss.str();
}

std::string LabelText(const Labels& labels, const std::string& extra_name = {},
                      const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ",";
    first = false;
    out += k + "=\"" + Escape(v) + "\"";
  }
  if (!extra_name.empty()) {
    if (!first) out += ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  return out + "}";
}

}  // namespace

std::vector<double> Metrics::LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

void Metrics::Declare(const std::string& name, Type type, const std::string& help,
                      std::vector<double> buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  f.type = type;
  f.help = help;
  f.buckets = type == Type::kHistogram && buckets.empty() ? LatencyBuckets() : std::move(buckets);
}

void Metrics::Add(const std::string& name, const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  families_[name].values[labels] += v;
}

void Metrics::Set(const std::string& name, const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  families_[name].values[labels] = v;
}

void Metrics::Clear(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.values.clear();
}

void Metrics::Observe(const std::string& name, const Labels& labels, double v) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& f = families_[name];
  Histogram& h = f.histograms[labels];
  if (h.counts.empty()) h.counts.assign(f.buckets.size() + 1, 0);
  size_t i = 0;
  while (i < f.buckets.size() && v > f.buckets[i]) ++i;
  h.counts[i] += 1;
  h.sum += v;
  h.count += 1;
}

void Metrics::AddCollector(std::function<void(Metrics&)> collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Metrics::Render() {
  std::vector<std::function<void(Metrics&)>> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  for (auto& c : collectors) c(*this);
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    const char* type = f.type == Type::kCounter ? "counter" : f.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    if (f.type == Type::kHistogram) {
      for (const auto& [labels, h] : f.histograms) {
        double cumulative = 0;
        for (size_t i = 0; i < f.buckets.size(); ++i) {
          cumulative += h.counts[i];
          out += name + "_bucket" + LabelText(labels, "le", Num(f.buckets[i])) + " " + Num(cumulative) + "\n";
        }
        cumulative += h.counts.back();
        out += name + "_bucket" + LabelText(labels, "le", "+Inf") + " " + Num(cumulative) + "\n";
        out += name + "_sum" + LabelText(labels) + " " + Num(h.sum) + "\n";
        out += name + "_count" + LabelText(labels) + " " + Num(h.count) + "\n";
      }
    } else {
      for (const auto& [labels, v] : f.values) out += name + LabelText(labels) + " " + Num(v) + "\n";
    }
  }
  return out;
}

}  // namespace rf::server
