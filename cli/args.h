// A small getopt-like parser shared by every subcommand: positionals, flags, and
// options with a value (`--id X`, `--id=X`, `-o X`). Unknown options are usage errors.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"

namespace docfs::cli {

// A mistake in how a command was called (exit status 2), as opposed to a failure (1).
class CliUsageError : public UsageError {
 public:
  explicit CliUsageError(const std::string& what) : UsageError(EINVAL, what) {}
};

class Args {
 public:
  // `valued`: options that take a value; `flags`: options that do not. "--help"/"-h" is
  // always a flag. Throws CliUsageError naming the bad option.
  Args(int argc, char** argv, const std::set<std::string>& valued,
       const std::set<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& flag) const { return flags_.count(flag) > 0; }
  std::optional<std::string> value(const std::string& option) const;  // the last one given
  std::vector<std::string> values(const std::string& option) const;    // all, in order
  bool help() const { return has("--help") || has("-h"); }
  // Throws CliUsageError unless min <= positional count <= max.
  void expect_positional(size_t min, size_t max) const;

 private:
  std::vector<std::string> positional_;
  std::set<std::string> flags_;
  std::multimap<std::string, std::string> values_;
  std::vector<std::pair<std::string, std::string>> ordered_;
};

// "10", "10k", "64KiB", "1.5G", "2MB" -> bytes (binary units). Throws CliUsageError.
uint64_t parse_size(const std::string& text);
// "30", "30s", "5m", "2h", "7d" -> seconds. Throws CliUsageError.
uint64_t parse_duration(const std::string& text);
// 1536 -> "1.5K" (human) or "1536".
std::string format_size(uint64_t bytes, bool human);

}  // namespace docfs::cli
