#include "fs/options.h"

#include <cstdlib>
#include <set>

#include "core/error.h"

namespace docfs::fs {
namespace {

std::vector<std::string> split_options(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      cur.push_back(text[++i]);
    } else if (text[i] == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(text[i]);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

[[noreturn]] void bad(const std::string& opt, const std::string& why) {
  throw UsageError(EINVAL, "bad mount option " + opt + ": " + why);
}

uint64_t parse_uint(const std::string& opt, const std::string& v, int base = 10) {
  if (v.empty()) bad(opt, "missing value");
  char* end = nullptr;
  unsigned long long n = strtoull(v.c_str(), &end, base);
  if (*end != '\0' || v[0] == '-') bad(opt, "not a number");
  return n;
}

double parse_seconds(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  double d = strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || d < 0) bad(opt, "not a number of seconds");
  return d;
}

uint64_t parse_bytes(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  double d = strtod(v.c_str(), &end);
  if (v.empty() || end == v.c_str() || d < 0) bad(opt, "not a size");
  std::string unit(end);
  uint64_t mult = 1;
  if (!unit.empty()) {
    switch (unit[0] | 0x20) {
      case 'k': mult = 1ull << 10; break;
      case 'm': mult = 1ull << 20; break;
      case 'g': mult = 1ull << 30; break;
      case 'b': mult = 1; break;
      default: bad(opt, "unknown unit " + unit);
    }
  }
  return static_cast<uint64_t>(d * static_cast<double>(mult));
}

// Options mount(8) and fstab use that mean nothing to a FUSE mount.
const std::set<std::string> kIgnored = {"defaults", "auto",  "noauto",  "user", "nouser",
                                        "users",    "_netdev", "nofail", "rw"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

void parse_mount_options(const std::string& text, MountOptions& opts) {
  for (const std::string& opt : split_options(text)) {
    size_t eq = opt.find('=');
    std::string key = opt.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    if (kIgnored.count(key)) continue;
    if (key == "ro") {
      opts.read_only = true;
    } else if (key == "debug") {
      opts.debug = true;
    } else if (key == "uid") {
      opts.uid = static_cast<uint32_t>(parse_uint(opt, value));
    } else if (key == "gid") {
      opts.gid = static_cast<uint32_t>(parse_uint(opt, value));
    } else if (key == "umask") {
      opts.umask = static_cast<uint32_t>(parse_uint(opt, value, 8)) & 07777;
    } else if (key == "attr_timeout") {
      opts.attr_timeout = parse_seconds(opt, value);
    } else if (key == "entry_timeout") {
      opts.entry_timeout = parse_seconds(opt, value);
    } else if (key == "compact_min") {
      opts.compact_min = parse_bytes(opt, value);
    } else if (key == "compact_ratio") {
      opts.compact_ratio = parse_seconds(opt, value);
    } else if (key == "compact_interval") {
      opts.compact_interval = parse_seconds(opt, value);
    } else if (key == "stage_memory") {
      opts.stage_memory = parse_bytes(opt, value);
    } else if (key == "remote") {
      if (value.empty()) bad(opt, "missing URL");
      opts.remote_url = value;
    } else if (key == "remote_endpoint") {
      opts.remote_endpoint = value;
    } else if (key == "remote_ttl") {
      opts.remote_ttl = parse_seconds(opt, value);
    } else if (key == "push_delay") {
      opts.push_delay = parse_seconds(opt, value);
    } else if (key == "remote_format") {
      if (value != "docfs" && value != "docarray") bad(opt, "expected docfs or docarray");
      opts.remote_docarray = value == "docarray";
    } else if (key == "fsname") {
      opts.fsname = value;
    } else if (key == "subtype") {
      continue;  // always docfs
    } else {
      opts.fuse_options.push_back(opt);  // allow_other, default_permissions, nosuid, ...
    }
  }
}

std::string libfuse_options(const MountOptions& opts) {
  std::string out = "fsname=" + escape(opts.fsname.empty() ? opts.store_dir : opts.fsname) +
                    ",subtype=docfs";
  if (opts.read_only) out += ",ro";
  for (const std::string& o : opts.fuse_options) out += "," + escape(o);
  return out;
}

}  // namespace docfs::fs
