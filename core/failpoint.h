// Crash points for tests: when the environment variable DOCFS_FAILPOINT names this point,
// the process dies on the spot (_exit, no cleanup), as a power cut or SIGKILL would leave
// it. Used to prove that a crash between any two steps of prune leaves a whole store.
#pragma once

namespace docfs {

void failpoint(const char* name);

}  // namespace docfs
