// One `docfs` subcommand: its name, its help text and the function that runs it.
#pragma once

#include <string>
#include <vector>

namespace docfs::cli {

// Exit codes of every subcommand.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Command {
  std::string name;
  std::string summary;  // one line for `docfs --help`
  std::string usage;    // the full `docfs NAME --help` text
  // argv[0] is the subcommand name. Returns an exit code; may throw docfs::Error
  // (reported as "docfs NAME: message", exit 1) or UsageError(EINVAL) (exit 2).
  int (*run)(int argc, char** argv);
};

// Each area contributes its subcommands; cli/main.cc lists them all.
std::vector<Command> store_commands();   // cli/store_commands.cc
std::vector<Command> interop_commands();  // cli/interop_commands.cc
std::vector<Command> remote_commands();  // cli/remote_commands.cc
std::vector<Command> mount_commands();   // cli/mount_commands.cc

}  // namespace docfs::cli
