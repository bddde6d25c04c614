#include "cli/jina_dam_view.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <sstream>

#include "core/error.h"

namespace docfs::cli {

std::string make_private_dir(const std::string& prefix) {
  std::string base;
  for (const char* var : {"XDG_RUNTIME_DIR", "TMPDIR"})
    if (const char* v = std::getenv(var); v && *v && ::access(v, W_OK | X_OK) == 0) {
      base = v;
      break;
    }
  if (base.empty()) base = "/tmp";
  std::string tmpl = base + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw IoError(errno, "create a private directory " + tmpl);
  return tmpl;  // mkdtemp makes it 0700
}

void remove_private_dir(const std::string& dir) noexcept {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        ::unlink((dir + "/" + e->d_name).c_str());
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

interop::JinaDamInfo convert_jina_dam(const std::string& dam_dir, const std::string& store_dir,
                                      std::optional<int> key_length, std::ostream& warn) {
  interop::JinaDamInfo info;
  auto src = interop::jina_dam_source(dam_dir, key_length, &info);
  for (const std::string& w : info.warnings) warn << dam_dir << ": " << w << "\n";
  auto store = Store::open(store_dir, OpenOptions{.create = true, .read_only = false});
  const int64_t now = now_ns();
  while (true) {
    std::optional<Document> d;
    try {
      d = src->next();
      if (!d) break;
      d->meta.mtime_ns = d->meta.ctime_ns = now;
      store->put(*d, false);
    } catch (const interop::BadDocument& e) {
      warn << dam_dir << ": skipped " << e.what() << "\n";
    } catch (const UsageError& e) {
      warn << dam_dir << ": skipped document '" << (d ? d->meta.id : "") << "': " << e.what() << "\n";
    }
  }
  store->sync();
  return info;
}

std::unique_ptr<Store> open_store_for_reading(const std::string& dir, std::optional<int> key_length) {
  if (!key_length && !interop::looks_like_jina_dam(dir)) return Store::open(dir, OpenOptions{.create = false, .read_only = true});
  const std::string copy = make_private_dir("docfs-jina");
  // Warnings wait until the copy is gone: a closed stderr (SIGPIPE) must not leave it behind.
  std::ostringstream warnings;
  try {
    convert_jina_dam(dir, copy, key_length, warnings);
    auto store = Store::open(copy, OpenOptions{.create = false, .read_only = true});
    remove_private_dir(copy);  // the store keeps header.bin and body.bin open
    std::cerr << warnings.str();
    return store;
  } catch (...) {
    remove_private_dir(copy);
    std::cerr << warnings.str();
    throw;
  }
}

}  // namespace docfs::cli
