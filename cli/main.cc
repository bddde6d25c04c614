// `docfs`: one binary, one subcommand per task. Also runs as `mount.docfs` and
// `mount.fuse.docfs`, the helpers mount(8) calls for `mount -t fuse.docfs STORE DIR` and
// fstab lines.
#include <curl/curl.h>
#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse3/fuse_lowlevel.h>
#include <openssl/crypto.h>

#include <cstring>
#include <iostream>
#include <string>

#include "cli/args.h"
#include "cli/command.h"
#include "interop/jina_dam.h"
#include "core/error.h"
#include "core/store_format.h"
#include "core/version.h"

namespace docfs::cli {
namespace {

std::vector<Command> all_commands() {
  std::vector<Command> all = store_commands();
  for (auto& c : interop_commands()) all.push_back(c);
  for (auto& c : remote_commands()) all.push_back(c);
  for (auto& c : mount_commands()) all.push_back(c);
  return all;
}

void print_version() {
  std::cout << "docfs " << DOCFS_VERSION << "\n"
            << "store format " << format::kFormatVersion << "\n"
            << "libfuse " << fuse_pkgversion() << "\n"
            << curl_version() << "\n"
            << OpenSSL_version(OPENSSL_VERSION) << "\n";
}

void print_help(const std::vector<Command>& cmds) {
  std::cout << "usage: docfs COMMAND [ARGS...]   (docfs COMMAND --help for details)\n\n"
               "A FUSE filesystem and command line for DocumentArrayMemmap-style stores.\n\n"
               "commands:\n";
  for (const auto& c : cmds) {
    std::string name = c.name;
    name.resize(std::max<size_t>(name.size(), 10), ' ');
    std::cout << "  " << name << "  " << c.summary << "\n";
  }
  std::cout << "\noptions:\n  --version   print versions of docfs, its formats and libraries\n"
               "  --help      this text\n\nexit status: 0 success, 1 failure, 2 usage error\n";
}

// A Jina DocumentArrayMemmap directory gets a message that says what it is and what to do.
std::string describe_foreign_store(const ForeignStoreError& e) {
  if (!interop::looks_like_jina_dam(e.dir())) return e.what();
  std::string what = "this is a Jina DocumentArrayMemmap store";
  try {
    interop::JinaDamInfo info = interop::inspect_jina_dam(e.dir());
    what += " (key length " + std::to_string(info.key_length) + ", " + std::to_string(info.live) + " documents)";
  } catch (const std::exception&) {
  }
  return e.dir() + ": " + what + "; docfs writes nothing into it. Read it in place with docfs ls/get/stat/export, mount it "
         "with -o ro (docfs mount " + e.dir() + " MNT -o ro), or convert it (reading only) with: docfs import NEWSTORE " +
         e.dir();
}

int run(const Command& c, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    if (std::strcmp(argv[i], "--help") == 0) {
      std::cout << c.usage;
      if (c.usage.empty() || c.usage.back() != '\n') std::cout << "\n";
      return kExitOk;
    }
  }
  try {
    return c.run(argc, argv);
  } catch (const CliUsageError& e) {
    std::cerr << "docfs " << c.name << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const ForeignStoreError& e) {
    std::cerr << "docfs " << c.name << ": " << describe_foreign_store(e) << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "docfs " << c.name << ": " << e.what() << "\n";
    return kExitFailure;
  }
}

// mount(8) calls: mount.docfs STORE DIR [-sfnv] [-o OPTIONS]. -f there means "fake",
// -n "no mtab", -s "sloppy", -v "verbose": none apply to us, so they are dropped.
int run_as_mount_helper(const std::vector<Command>& cmds, int argc, char** argv) {
  std::vector<char*> args{const_cast<char*>("mount")};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-s" || a == "-f" || a == "-n" || a == "-v") continue;
    args.push_back(argv[i]);
  }
  for (const auto& c : cmds)
    if (c.name == "mount") return run(c, static_cast<int>(args.size()), args.data());
  std::cerr << "mount.docfs: this build has no mount support\n";
  return kExitFailure;
}

}  // namespace
}  // namespace docfs::cli

int main(int argc, char** argv) {
  using namespace docfs::cli;
  auto cmds = all_commands();
  std::string self = argv[0];
  const std::string base = self.substr(self.rfind('/') + 1);
  if (base == "mount.docfs" || base == "mount.fuse.docfs") return run_as_mount_helper(cmds, argc, argv);
  if (argc < 2) {
    print_help(cmds);
    return kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    print_version();
    return kExitOk;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    print_help(cmds);
    return kExitOk;
  }
  for (const auto& c : cmds)
    if (c.name == name) return run(c, argc - 1, argv + 1);
  std::cerr << "docfs: unknown command '" << name << "' (see docfs --help)\n";
  return kExitUsage;
}
