// Subcommands that work on a local store: init, ls, put, get, rm, mv, stat, prune, fsck
// (export and import: cli/interop_commands.cc). Readers open the store read-only, so they work beside a mount.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/args.h"
#include "cli/jina_dam_view.h"
#include "cli/command.h"
#include "cli/table.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/store.h"
#include "core/time_format.h"
#include "interop/docarray_json.h"

namespace docfs::cli {
namespace {

// A Jina DocumentArrayMemmap directory is read through a private converted copy
// (--key-length N forces its key length).
std::unique_ptr<Store> open_reader(const Args& a) {
  std::optional<int> key_length;
  if (auto k = a.value("--key-length")) key_length = static_cast<int>(parse_size(*k));
  return open_store_for_reading(a.positional()[0], key_length);
}

std::unique_ptr<Store> open_writer(const std::string& dir) {
  return Store::open(dir, OpenOptions{.create = false, .read_only = false});
}

// "768 x <f4", "2x2 x <f8", "none".
std::string describe_ndarray(const NdArray& a) {
  if (a.empty()) return "none";
  std::string s;
  for (uint64_t d : a.shape) s += (s.empty() ? "" : "x") + std::to_string(d);
  return (s.empty() ? "scalar" : s) + " " + a.dtype;
}

std::string format_mode(uint32_t mode) {
  std::string s;
  switch (mode & 0170000) {
    case 0040000: s = "d"; break;
    case 0120000: s = "l"; break;
    case 0010000: s = "p"; break;
    case 0020000: s = "c"; break;
    case 0060000: s = "b"; break;
    case 0140000: s = "s"; break;
    default: s = "-";
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (mode & (0400u >> i)) ? rwx[i] : '-';
  return s;
}

// Streams a local file into Store::put_stream without holding it in memory.
class FileSource : public ContentSource {
 public:
  FileSource(File f, uint64_t size) : f_(std::move(f)), size_(size) {}
  uint64_t size() const override { return size_; }
  size_t read(uint64_t off, void* buf, size_t n) override { return f_.pread(buf, n, off); }

 private:
  File f_;
  uint64_t size_;
};

// ---------------------------------------------------------------- init

int cmd_init(int argc, char** argv) {
  Args a(argc, argv, {}, {});
  a.expect_positional(1, 1);
  auto store = Store::open(a.positional()[0], OpenOptions{.create = true, .read_only = false});
  std::cout << "initialized empty store " << store->dir() << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------- ls

int cmd_ls(int argc, char** argv) {
  Args a(argc, argv, {"--key-length"}, {"-l", "-h", "--json"});
  a.expect_positional(1, 1);
  auto store = open_reader(a);
  std::vector<std::pair<std::string, Stat>> docs;
  store->for_each([&](std::string_view id, const Stat& st) { docs.emplace_back(id, st); });
  std::sort(docs.begin(), docs.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  if (a.has("--json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [id, st] : docs)
      out.push_back({{"id", id}, {"size", st.size}, {"mode", st.mode}, {"uid", st.uid},
                     {"gid", st.gid}, {"mtime_ns", st.mtime_ns}, {"directory", st.is_directory_marker()}});
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (!a.has("-l")) {
    for (const auto& [id, st] : docs) std::cout << id << (st.is_directory_marker() ? "/" : "") << "\n";
    return kExitOk;
  }
  Table t({"MODE", "SIZE", "MODIFIED", "ID"}, {false, true, false, false});
  for (const auto& [id, st] : docs) {
    std::string name = id + (st.is_directory_marker() ? "/" : "");
    if ((st.mode & 0170000) == 0120000)  // a symbolic link shows its target, as ls -l does
      if (auto c = store->content(id); c && c->size() < 4096) name += " -> " + c->read_all();
    t.add({format_mode(st.mode), format_size(st.size, a.has("-h")), local_minutes(st.mtime_ns), name});
  }
  t.print(std::cout, isatty(STDOUT_FILENO));
  return kExitOk;
}

// ---------------------------------------------------------------- put

int cmd_put(int argc, char** argv) {
  Args a(argc, argv, {"--id", "--mime", "--tag", "--uri"}, {});
  a.expect_positional(2, SIZE_MAX);
  std::vector<std::string> files(a.positional().begin() + 1, a.positional().end());
  if (a.value("--id") && files.size() != 1) throw CliUsageError("--id needs exactly one FILE");
  std::map<std::string, std::string> tags;
  for (const auto& kv : a.values("--tag")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw CliUsageError("--tag wants KEY=VALUE, got '" + kv + "'");
    tags[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto store = open_writer(a.positional()[0]);
  for (const auto& path : files) {
    DocumentMeta m;
    const bool from_stdin = path == "-";
    if (from_stdin && !a.value("--id")) throw CliUsageError("reading stdin ('-') needs --id");
    m.id = a.value("--id").value_or(path.substr(path.rfind('/') + 1));
    m.mime_type = a.value("--mime").value_or(guess_mime(m.id));
    m.uri = a.value("--uri").value_or(from_stdin ? "" : path);
    for (const auto& [k, v] : tags) m.tags[k] = v;
    m.mtime_ns = m.ctime_ns = now_ns();
    if (from_stdin) {
      Document d{m, std::string(std::istreambuf_iterator<char>(std::cin), {})};
      store->put(d, false);
    } else {
      File f = File::open(path, O_RDONLY);
      struct stat st;
      if (::fstat(f.fd(), &st) != 0) throw IoError(errno, "stat " + path);
      if (!S_ISREG(st.st_mode)) throw UsageError(EISDIR, path + " is not a regular file");
      m.mode = st.st_mode & 07777;
      m.mode |= 0100000;
      m.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
      FileSource src(std::move(f), static_cast<uint64_t>(st.st_size));
      store->put_stream(m, src, false);
    }
  }
  store->sync();
  return kExitOk;
}

// ---------------------------------------------------------------- get

// `docfs get --json` / `--field F`: the whole typed record, or one field of it, as JSON.
int print_record(const Store& store, const std::string& where, const std::string& id,
                 const std::optional<std::string>& field) {
  auto doc = store.get(id);
  if (!doc) throw UsageError(ENOENT, "no document '" + id + "' in " + where);
  nlohmann::json j = interop::document_to_json(*doc, true);
  if (field) {
    std::string key = *field == "metadata" ? "_metadata" : *field;
    if (!j.contains(key)) throw CliUsageError("no field '" + *field + "' (DocArray fields: " + [&] {
      std::string names;
      for (const auto& [k, v] : j.items()) names += (names.empty() ? "" : ", ") + k;
      return names;
    }() + ")");
    j = j[key];
  }
  std::cout << j.dump(2) << "\n";
  return kExitOk;
}

int cmd_get(int argc, char** argv) {
  Args a(argc, argv, {"-o", "--field", "--key-length"}, {"--json"});
  a.expect_positional(2, 2);
  auto store = open_reader(a);
  const std::string& id = a.positional()[1];
  if (a.has("--json") || a.value("--field")) return print_record(*store, a.positional()[0], id, a.value("--field"));
  auto ref = store->content(id);
  if (!ref) throw UsageError(ENOENT, "no document '" + id + "' in " + a.positional()[0]);
  File out = a.value("-o") ? File::open(*a.value("-o"), O_WRONLY | O_CREAT | O_TRUNC, 0644)
                           : File(::dup(STDOUT_FILENO), "standard output");
  struct stat st;
  // Into a regular file, holes stay holes (as cp --sparse); a pipe gets the zeros.
  const bool sparse_out = ::fstat(out.fd(), &st) == 0 && S_ISREG(st.st_mode) && a.value("-o");
  std::string buf(1u << 20, '\0');
  uint64_t off = 0;
  for (const ContentRef::Piece& p : ref->map(0, ref->size())) {
    const uint64_t end = off + p.len;
    if (p.hole && sparse_out) {
      off = end;
      continue;
    }
    while (off < end) {
      size_t n = ref->read(off, buf.data(), static_cast<size_t>(std::min<uint64_t>(buf.size(), end - off)));
      if (sparse_out) {
        out.pwrite(buf.data(), n, off);
      } else {
        for (size_t w = 0; w < n;) {
          ssize_t r = ::write(out.fd(), buf.data() + w, n - w);
          if (r < 0) {
            if (errno == EINTR) continue;
            throw IoError(errno, "write " + out.path());
          }
          w += static_cast<size_t>(r);
        }
      }
      off += n;
    }
  }
  if (sparse_out) out.truncate(ref->size());
  return kExitOk;
}

// ---------------------------------------------------------------- rm, mv

int cmd_rm(int argc, char** argv) {
  Args a(argc, argv, {}, {"-f"});
  a.expect_positional(2, SIZE_MAX);
  auto store = open_writer(a.positional()[0]);
  int status = kExitOk;
  for (size_t i = 1; i < a.positional().size(); ++i) {
    if (!store->remove(a.positional()[i], false) && !a.has("-f")) {
      std::cerr << "docfs rm: no document '" << a.positional()[i] << "'\n";
      status = kExitFailure;
    }
  }
  store->sync();
  return status;
}

int cmd_mv(int argc, char** argv) {
  Args a(argc, argv, {}, {});
  a.expect_positional(3, 3);
  auto store = open_writer(a.positional()[0]);
  store->rename(a.positional()[1], a.positional()[2]);
  store->sync();
  return kExitOk;
}

// ---------------------------------------------------------------- stat

int cmd_stat(int argc, char** argv) {
  Args a(argc, argv, {"--key-length"}, {"-h", "--json"});
  a.expect_positional(1, 2);
  if (a.positional().size() == 1 && (a.value("--key-length") || interop::looks_like_jina_dam(a.positional()[0]))) {
    std::optional<int> key_length;
    if (auto k = a.value("--key-length")) key_length = static_cast<int>(parse_size(*k));
    interop::JinaDamInfo i = interop::inspect_jina_dam(a.positional()[0], key_length);
    for (const std::string& w : i.warnings) std::cerr << "docfs stat: " << a.positional()[0] << ": " << w << "\n";
    if (a.has("--json")) {
      std::cout << nlohmann::json{{"format", "jina-dam"}, {"key_length", i.key_length}, {"rows", i.rows},
                                  {"documents", i.live}, {"tombstones", i.tombstones}, {"superseded", i.superseded},
                                  {"truncated_ids", i.truncated_ids}, {"damaged_rows", i.bad_rows},
                                  {"torn_tail_bytes", i.torn_tail_bytes}}
                       .dump(2)
                << "\n";
      return kExitOk;
    }
    std::cout << "format         Jina DocumentArrayMemmap (read only)\n"
              << "key length     " << i.key_length << "\n"
              << "documents      " << i.live << "\n"
              << "header rows    " << i.rows << "\n"
              << "tombstones     " << i.tombstones << "\n"
              << "superseded     " << i.superseded << "\n"
              << "long ids       " << i.truncated_ids << " (longer than the key length)\n"
              << "damaged rows   " << i.bad_rows << "\n";
    return kExitOk;
  }
  auto store = open_reader(a);
  const bool h = a.has("-h");
  if (a.positional().size() == 1) {
    StoreStats s = store->stats();
    if (a.has("--json")) {
      std::cout << nlohmann::json{{"documents", s.documents}, {"live_bytes", s.live_bytes},
                                  {"garbage_bytes", s.garbage_bytes}, {"body_bytes", s.body_bytes},
                                  {"header_bytes", s.header_bytes}}
                       .dump(2)
                << "\n";
      return kExitOk;
    }
    std::cout << "documents      " << s.documents << "\n"
              << "live bytes     " << format_size(s.live_bytes, h) << "\n"
              << "garbage bytes  " << format_size(s.garbage_bytes, h) << "\n"
              << "body.bin       " << format_size(s.body_bytes, h) << "\n"
              << "header.bin     " << format_size(s.header_bytes, h) << "\n";
    return kExitOk;
  }
  const std::string& id = a.positional()[1];
  auto m = store->meta(id);
  auto st = store->stat(id);
  if (!m || !st) throw UsageError(ENOENT, "no document '" + id + "' in " + a.positional()[0]);
  if (a.has("--json")) {
    nlohmann::json j{{"id", id}, {"size", st->size}, {"mode", st->mode}, {"uid", st->uid},
                     {"gid", st->gid}, {"mtime_ns", st->mtime_ns}, {"ctime_ns", st->ctime_ns},
                     {"mime_type", m->mime_type}, {"uri", m->uri}, {"tags", m->tags}};
    j["embedding"] = m->embedding.to_doubles().value_or(std::vector<double>{});
    j["embedding_dtype"] = m->embedding.dtype;
    j["embedding_shape"] = m->embedding.shape;
    // The whole typed record as DocArray's jsonschema layout (without the content).
    j["docarray"] = interop::document_to_json(Document{*m, ""}, false);
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "id         " << id << "\n"
            << "size       " << format_size(st->size, h) << "\n"
            << "mode       " << format_mode(st->mode) << "\n"
            << "owner      " << st->uid << ":" << st->gid << "\n"
            << "modified   " << local_minutes(st->mtime_ns) << "\n"
            << "mime_type  " << m->mime_type << "\n"
            << "uri        " << m->uri << "\n"
            << "embedding  " << describe_ndarray(m->embedding) << "\n";
  for (const auto& [k, v] : m->tags) std::cout << "tag        " << k << "=" << tag_text(v) << "\n";
  if (!m->chunks.empty()) std::cout << "chunks     " << m->chunks.size() << "\n";
  if (!m->matches.empty()) std::cout << "matches    " << m->matches.size() << "\n";
  for (const auto& [k, v] : m->scores) std::cout << "score      " << k << "=" << v.value << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------- prune

// A mounted store is pruned by its daemon: SIGUSR1 asks, a new header.bin says it is done.
int prune_through_daemon(const std::string& dir, int pid) {
  struct stat before;
  if (::stat((dir + "/header.bin").c_str(), &before) != 0) throw IoError(errno, "stat " + dir + "/header.bin");
  if (::kill(pid, SIGUSR1) != 0)
    throw IoError(errno, "ask the mount (pid " + std::to_string(pid) + ") of " + dir + " to prune");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    struct stat now;
    if (::stat((dir + "/header.bin").c_str(), &now) == 0 && now.st_ino != before.st_ino) {
      std::cout << "pruned " << dir << " (by its mount, pid " << pid << ")\n";
      return kExitOk;
    }
  }
  throw Error(ETIMEDOUT, "the mount (pid " + std::to_string(pid) + ") did not prune " + dir + " within 10 minutes");
}

int cmd_prune(int argc, char** argv) {
  Args a(argc, argv, {}, {"-h"});
  a.expect_positional(1, 1);
  const std::string& dir = a.positional()[0];
  std::unique_ptr<Store> store;
  try {
    store = open_writer(dir);
  } catch (const LockedError&) {
    int pid = lock_holder_pid(dir);
    if (pid <= 0) throw;
    return prune_through_daemon(dir, pid);
  }
  PruneResult r = store->prune();
  std::cout << "pruned " << dir << ": " << r.documents << " documents, "
            << format_size(r.bytes_before, a.has("-h")) << " -> " << format_size(r.bytes_after, a.has("-h"))
            << " bytes\n";
  return kExitOk;
}

// ---------------------------------------------------------------- fsck

int cmd_fsck(int argc, char** argv) {
  Args a(argc, argv, {}, {"--repair"});
  a.expect_positional(1, 1);
  FsckReport r = Store::fsck(a.positional()[0], a.has("--repair"));
  std::cout << "header entries   " << r.header_entries << "\n"
            << "documents        " << r.documents << " (checksums verified)\n"
            << "torn header tail " << r.torn_header_bytes << " bytes\n"
            << "unreferenced body tail " << r.torn_body_bytes << " bytes\n";
  for (const auto& p : r.problems) std::cout << "problem: " << p << "\n";
  if (r.repaired) std::cout << "repaired: torn tails truncated\n";
  std::cout << (r.ok() ? "store is consistent\n" : "store has problems\n");
  return r.ok() ? kExitOk : kExitFailure;
}

}  // namespace

std::vector<Command> store_commands() {
  return {
      {"init", "create an empty store", "usage: docfs init STORE\n\nCreates STORE/ with an empty header.bin and body.bin.\n", cmd_init},
      {"ls", "list the documents of a store",
       "usage: docfs ls STORE [-l] [-h] [--json] [--key-length N]\n\n"
       "STORE may be a Jina DocumentArrayMemmap directory: it is read (never written) through a\n"
       "private copy converted now; --key-length N forces its key length.\n"
       "\n  -l      long listing: mode, size, modified time, id\n"
       "  -h      human-readable sizes\n  --json  a JSON array for scripts\n\n"
       "Aligned columns on a terminal, tab-separated values otherwise. Works while the store is mounted.\n",
       cmd_ls},
      {"put", "add or replace documents from files",
       "usage: docfs put STORE FILE... [--id ID] [--mime TYPE] [--uri URI] [--tag KEY=VALUE]...\n\n"
       "Each FILE becomes a document named by its base name (or --id, with one FILE; '-' reads\n"
       "standard input and needs --id). The mime type is guessed from the name unless given.\n",
       cmd_put},
      {"get", "write a document's content to stdout or a file",
       "usage: docfs get STORE ID [-o FILE] [--json | --field F] [--key-length N]\n\n"
       "STORE may be a Jina DocumentArrayMemmap directory: it is read (never written) through a\n"
       "private copy converted now; --key-length N forces its key length.\n\n"
       "  --json     the whole document as DocArray JSON (every field, chunks and matches)\n"
       "  --field F  one field of it: chunks, matches, tags, embedding, scores, ...\n", cmd_get},
      {"rm", "delete documents", "usage: docfs rm STORE ID... [-f]\n\n  -f  no error for missing ids\n", cmd_rm},
      {"mv", "rename a document (replacing the target)", "usage: docfs mv STORE OLD NEW\n", cmd_mv},
      {"stat", "store totals, or one document's metadata",
       "usage: docfs stat STORE [ID] [-h] [--json] [--key-length N]\n\nWithout ID: documents, live bytes, garbage bytes, file sizes;\n"
       "for a Jina DocumentArrayMemmap: key length, rows, tombstones, superseded and damaged rows.\n"
       "STORE may be a Jina DocumentArrayMemmap directory: it is read (never written) through a\n"
       "private copy converted now; --key-length N forces its key length.\n", cmd_stat},
      {"prune", "compact a store (asks the mount to do it when mounted)",
       "usage: docfs prune STORE [-h]\n\nRewrites body.bin and header.bin without overwritten or deleted\n"
       "versions. Atomic: a crash leaves the old or the new store. On a mounted store the\n"
       "mount does it online.\n",
       cmd_prune},
      {"fsck", "verify every checksum; --repair drops torn tails",
       "usage: docfs fsck STORE [--repair]\n\nExit status 0 when the store is consistent, 1 otherwise.\n", cmd_fsck},
  };
}

}  // namespace docfs::cli
