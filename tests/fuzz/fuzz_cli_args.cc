// Fuzzes option, size and duration parsing of the command line.
#include <cstdint>
#include <string>
#include <vector>

#include "cli/args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  try { docfs::cli::parse_size(s); } catch (const docfs::Error&) {}
  try { docfs::cli::parse_duration(s); } catch (const docfs::Error&) {}
  // NUL-separated words become an argv.
  std::vector<std::string> words{"cmd"};
  std::string cur;
  for (char c : s) {
    if (c == '\0') {
      words.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  words.push_back(cur);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  try {
    docfs::cli::Args a(static_cast<int>(argv.size()), argv.data(), {"--id", "-o", "--tag"}, {"-l", "-h"});
    a.values("--tag");
    a.value("-o");
  } catch (const docfs::Error&) {
  }
  return 0;
}
