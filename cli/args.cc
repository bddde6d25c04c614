#include "cli/args.h"

#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace docfs::cli {

Args::Args(int argc, char** argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags) {
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (only_positional || a.size() < 2 || a[0] != '-') {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      only_positional = true;
      continue;
    }
    if (a == "--help" || a == "-h") {
      if (a == "-h" && flags.count("-h")) {
        flags_.insert(a);
        continue;
      }
      flags_.insert("--help");
      continue;
    }
    std::string name = a, val;
    bool inline_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = a.substr(0, eq);
      val = a.substr(eq + 1);
      inline_value = true;
    }
    if (valued.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argc) throw CliUsageError("option " + name + " needs a value");
        val = argv[++i];
      }
      values_.emplace(name, val);
      ordered_.emplace_back(name, val);
    } else if (flags.count(name) && !inline_value) {
      flags_.insert(name);
    } else {
      throw CliUsageError("unknown option " + a);
    }
  }
}

std::optional<std::string> Args::value(const std::string& option) const {
  std::optional<std::string> last;
  for (const auto& [k, v] : ordered_)
    if (k == option) last = v;
  return last;
}

std::vector<std::string> Args::values(const std::string& option) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : ordered_)
    if (k == option) out.push_back(v);
  return out;
}

void Args::expect_positional(size_t min, size_t max) const {
  if (positional_.size() < min) throw CliUsageError("missing arguments (see --help)");
  if (positional_.size() > max)
    throw CliUsageError("unexpected argument '" + positional_[max] + "' (see --help)");
}

namespace {

// Splits "1.5GiB" into 1.5 and "gib"; throws when there is no number.
std::pair<double, std::string> number_and_unit(const std::string& text, const char* what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    throw CliUsageError("'" + text + "' is not a " + what);
  }
  if (!std::isfinite(v) || v < 0) throw CliUsageError("'" + text + "' is not a " + what);
  std::string unit = text.substr(used);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return {v, unit};
}

}  // namespace

uint64_t parse_size(const std::string& text) {
  auto [v, unit] = number_and_unit(text, "size (e.g. 512, 64K, 1.5G)");
  static const std::pair<const char*, int> units[] = {
      {"", 0}, {"b", 0}, {"k", 1}, {"kb", 1}, {"kib", 1}, {"m", 2}, {"mb", 2}, {"mib", 2},
      {"g", 3}, {"gb", 3}, {"gib", 3}, {"t", 4}, {"tb", 4}, {"tib", 4}};
  for (auto [name, power] : units) {
    if (unit == name) {
      double bytes = v * std::pow(1024.0, power);
      if (bytes >= 1.8e19) throw CliUsageError("size '" + text + "' is too large");
      return static_cast<uint64_t>(bytes);
    }
  }
  throw CliUsageError("'" + text + "' has an unknown size unit (use K, M, G or T)");
}

uint64_t parse_duration(const std::string& text) {
  auto [v, unit] = number_and_unit(text, "duration (e.g. 30s, 5m, 2h, 7d)");
  static const std::pair<const char*, double> units[] = {
      {"", 1}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  for (auto [name, scale] : units) {
    if (unit == name) {
      double s = v * scale;
      if (s >= 1e15) throw CliUsageError("duration '" + text + "' is too long");
      return static_cast<uint64_t>(s);
    }
  }
  throw CliUsageError("'" + text + "' has an unknown duration unit (use s, m, h, d or w)");
}

std::string format_size(uint64_t bytes, bool human) {
  if (!human || bytes < 1024) return std::to_string(bytes);
  const char* units = "KMGTPE";
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
  return buf;
}

}  // namespace docfs::cli
