// docfs import and export: documents in and out of a store in DocArray's and Jina's own
// formats (interop/document_io.h), streamed one document at a time.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include "cli/args.h"
#include "cli/command.h"
#include "core/error.h"
#include "core/store.h"
#include "core/store_format.h"
#include "interop/document_io.h"
#include "cli/jina_dam_view.h"
#include "interop/jina_dam.h"
#include "interop/jina_dam_writer.h"

namespace docfs::cli {
namespace {

using interop::BadDocument;
using interop::Compression;
using interop::Format;

Format format_option(const Args& a, Format fallback) {
  auto name = a.value("--format");
  if (!name) return fallback;
  if (*name == "jina-dam") return Format::kAuto;  // a directory: recognized by its layout
  auto f = interop::parse_format(*name);
  if (!f) throw CliUsageError("unknown --format '" + *name + "' (json, jsonl, stream, protobuf-array, jina-dam)");
  return *f;
}

std::optional<Compression> compression_option(const Args& a) {
  auto name = a.value("--compress");
  if (!name) return std::nullopt;
  auto c = interop::parse_compression(*name);
  if (!c) throw CliUsageError("unknown --compress '" + *name + "' (none, gzip, zlib, bz2, lzma, lz4)");
  return c;
}

// A source file, or standard input spooled to a temporary file when the import needs two
// passes (all-or-nothing checks every document before the store sees one).
class InputFile {
 public:
  InputFile(const std::string& path, bool need_rereading) : path_(path) {
    if (path != "-") return;  // a file (read twice) or a Jina DAM directory
    if (!need_rereading) return;
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/docfs-import-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) throw IoError(errno, "create " + tmpl);
    ::close(fd);
    spooled_ = tmpl;
    std::ofstream out(spooled_, std::ios::binary | std::ios::trunc);
    out << std::cin.rdbuf();
    out.flush();
    if (!out) throw IoError(errno ? errno : EIO, "write " + spooled_ + " (standard input spooled for import)");
  }
  ~InputFile() {
    if (!spooled_.empty()) ::unlink(spooled_.c_str());
  }
  // A fresh stream from the start of the input.
  std::unique_ptr<std::istream> open() const {
    if (path_ == "-" && spooled_.empty()) return nullptr;  // std::cin, read once
    const std::string& p = spooled_.empty() ? path_ : spooled_;
    auto in = std::make_unique<std::ifstream>(p, std::ios::binary);
    if (!*in) throw IoError(errno, "open " + path_);
    return in;
  }
  const std::string& name() const { return path_; }

 private:
  std::string path_;
  std::string spooled_;
};

// Reads every document of `file`, handing each to `fn`. Bad documents go to `on_bad` (which
// rethrows in all-or-nothing mode). Errors are prefixed with the file name.
bool is_directory(const std::string& path) {
  struct stat st;
  return path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void report_dam(const std::string& dir, const interop::JinaDamInfo& i) {
  std::cout << dir << ": Jina DocumentArrayMemmap, key length " << i.key_length << ": " << i.rows << " header rows, "
            << i.live << " live documents, " << i.tombstones << " deleted (tombstone rows), " << i.superseded
            << " superseded rows, " << i.truncated_ids << " ids longer than the key length (full ids kept)";
  if (i.bad_rows) std::cout << ", " << i.bad_rows << " damaged rows";
  std::cout << "\n";
  for (const std::string& w : i.warnings) std::cerr << "docfs import: " << dir << ": " << w << "\n";
}

template <class Fn, class OnBad>
void read_documents(const InputFile& file, const interop::SourceOptions& opt, std::optional<int> key_length, bool report,
                    Fn fn, OnBad on_bad) {
  std::unique_ptr<std::istream> owned;
  if (!is_directory(file.name())) owned = file.open();
  std::istream& in = owned ? *owned : std::cin;
  try {
    std::unique_ptr<interop::DocumentSource> src;
    if (is_directory(file.name())) {
      interop::JinaDamInfo info;
      src = interop::jina_dam_source(file.name(), key_length, &info);
      if (report) report_dam(file.name(), info);
    } else {
      src = interop::open_source(interop::input_from(in), opt);
    }
    while (true) {
      std::optional<Document> d;
      try {
        d = src->next();
      } catch (const BadDocument& e) {
        on_bad(e);
        continue;
      }
      if (!d) break;
      fn(std::move(*d));
    }
  } catch (const BadDocument& e) {
    throw UsageError(EINVAL, file.name() + ": " + e.what());
  } catch (const UsageError& e) {
    throw UsageError(e.error_code(), file.name() + ": " + e.what());
  } catch (const FormatError& e) {
    throw FormatError(file.name() + ": " + e.what());
  }
}

// What the store needs of an imported document beyond the format's own checks.
void check_for_store(const Document& d, uint64_t index) {
  if (IdError e = check_id(d.meta.id); e != IdError::kOk) throw BadDocument(index, d.meta.id, describe_id_error(e, d.meta.id));
  if (encode_meta(d.meta).size() > format::kMaxMetaLength)
    throw BadDocument(index, d.meta.id,
                      "its fields (chunks, matches, tags, embedding) take more than " +
                          std::to_string(format::kMaxMetaLength >> 20) + " MiB, docfs's limit for one document's metadata");
}

int cmd_import(int argc, char** argv) {
  Args a(argc, argv, {"--format", "--compress", "--key-length"}, {"--skip-bad"});
  a.expect_positional(2, SIZE_MAX);
  interop::SourceOptions opt;
  opt.format = format_option(a, Format::kAuto);
  if (auto c = compression_option(a)) opt.compression = *c;
  const bool skip_bad = a.has("--skip-bad");
  std::optional<int> key_length;
  if (auto k = a.value("--key-length")) key_length = static_cast<int>(parse_size(*k));
  std::vector<std::unique_ptr<InputFile>> files;
  for (size_t i = 1; i < a.positional().size(); ++i)
    if (a.value("--format") == std::optional<std::string>("jina-dam") && !is_directory(a.positional()[i]))
      throw CliUsageError("--format jina-dam reads a DocumentArrayMemmap directory; " + a.positional()[i] + " is not one");
  for (size_t i = 1; i < a.positional().size(); ++i)
    files.push_back(std::make_unique<InputFile>(a.positional()[i], !skip_bad));

  if (!skip_bad) {
    // All or nothing: every document of every file is read and checked before the store
    // sees the first one, so a bad document anywhere leaves the store untouched.
    for (const auto& f : files) {
      uint64_t index = 0;
      read_documents(*f, opt, key_length, false, [&](Document d) { check_for_store(d, index++); },
                     [](const BadDocument& e) { throw e; });
    }
  }
  auto store = Store::open(a.positional()[0], OpenOptions{.create = false, .read_only = false});
  uint64_t imported = 0, skipped = 0;
  const int64_t now = now_ns();
  for (const auto& f : files) {
    uint64_t index = 0, from_file = 0;
    auto skip = [&](const BadDocument& e) {
      ++skipped;
      std::cerr << "docfs import: " << f->name() << ": skipped " << e.what() << "\n";
    };
    read_documents(
        *f, opt, key_length, true,
        [&](Document d) {
          try {
            check_for_store(d, index++);
          } catch (const BadDocument& e) {
            if (!skip_bad) throw;
            skip(e);
            return;
          }
          d.meta.mtime_ns = d.meta.ctime_ns = now;
          store->put(d, false);
          ++from_file;
        },
        skip);
    imported += from_file;
  }
  store->sync();
  std::cout << "imported " << imported << " documents";
  if (skipped) std::cout << ", skipped " << skipped;
  std::cout << "\n";
  return kExitOk;
}

// DIR must not exist or be an empty directory: an export never mixes with other files.
void require_fresh_output_dir(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw IoError(errno, "stat " + dir);
  }
  if (!S_ISDIR(st.st_mode)) throw UsageError(EEXIST, dir + " exists and is not a directory");
  if (DIR* d = ::opendir(dir.c_str())) {
    bool empty = true;
    while (dirent* e = ::readdir(d))
      if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") empty = false;
    ::closedir(d);
    if (!empty) throw UsageError(ENOTEMPTY, dir + " is not empty (export --format jina-dam writes a new directory)");
  }
}

// A Jina DocumentArrayMemmap directory, written beside DIR and renamed into place.
int export_jina_dam(Store& store, const std::vector<std::string>& ids, const Args& a) {
  auto out = a.value("-o");
  if (!out || *out == "-") throw CliUsageError("--format jina-dam writes a directory: give it with -o DIR");
  std::string dir = *out;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  require_fresh_output_dir(dir);
  // Jina finds a document by its id cut to key_length: every id must fit whole.
  size_t longest = 0;
  std::string longest_id;
  for (const std::string& id : ids)
    if (size_t n = interop::id_code_points(id); n > longest) longest = n, longest_id = id;
  int key_length = std::max<int>(interop::kJinaDefaultKeyLength, static_cast<int>(std::min<size_t>(longest, 4096)));
  if (auto k = a.value("--key-length")) {
    key_length = static_cast<int>(parse_size(*k));
    if (key_length < 1 || key_length > 4096) throw CliUsageError("--key-length is 1..4096");
    if (longest > static_cast<size_t>(key_length))
      throw UsageError(EINVAL, "--key-length " + std::to_string(key_length) + " would truncate id '" + longest_id +
                                   "' (" + std::to_string(longest) + " characters); Jina would no longer find it. Use --key-length " +
                                   std::to_string(longest) + " or more");
  }
  if (longest > 4096) throw UsageError(EINVAL, "id '" + longest_id.substr(0, 64) + "...' is longer than 4096 characters");
  const size_t slash = dir.rfind('/');
  std::string tmp = (slash == std::string::npos ? std::string(".") : dir.substr(0, slash + 1)) + ".docfs-export-XXXXXX";
  if (slash == 0) tmp = "/.docfs-export-XXXXXX";
  if (!::mkdtemp(tmp.data())) throw IoError(errno, "create " + tmp);
  uint64_t written = 0, bytes = 0;
  try {
    ::chmod(tmp.c_str(), 0755);
    interop::JinaDamWriter w(tmp, key_length);
    for (const std::string& id : ids) {
      auto doc = store.get(id);
      if (!doc) throw UsageError(ENOENT, "document " + id + " vanished during export");
      try {
        w.append(*doc);
      } catch (const UsageError& e) {
        throw UsageError(e.error_code(), "document '" + id + "': " + e.what());
      }
    }
    w.finish();
    written = w.documents(), bytes = w.body_bytes();
    ::rmdir(dir.c_str());  // an empty DIR makes way; a non-empty one makes rename fail
    if (::rename(tmp.c_str(), dir.c_str()) != 0) throw IoError(errno, "rename " + tmp + " to " + dir);
  } catch (...) {
    remove_private_dir(tmp);
    throw;
  }
  std::cout << "wrote " << written << " documents (" << bytes << " bytes of body.bin) to " << dir
            << " as a Jina DocumentArrayMemmap, key length " << key_length << "; Jina needs "
            << "DocumentArrayMemmap('" << dir << "', key_length=" << key_length << ")"
            << (key_length == interop::kJinaDefaultKeyLength ? " (its default)" : "") << "\n";
  return kExitOk;
}

int cmd_export(int argc, char** argv) {
  Args a(argc, argv, {"-o", "--format", "--compress", "--protocol", "--key-length", "--dam-key-length"}, {});
  a.expect_positional(1, 1);
  const bool jina_dam = a.value("--format") == std::optional<std::string>("jina-dam");
  interop::SinkOptions opt;
  if (!jina_dam) opt.format = format_option(a, Format::kJson);
  if (opt.format == Format::kAuto)
    throw CliUsageError("export needs a --format (json, jsonl, stream, protobuf-array, jina-dam)");
  if (a.value("--key-length") && !jina_dam) throw CliUsageError("--key-length goes with --format jina-dam");
  opt.compression = compression_option(a).value_or(Compression::kNone);
  if (auto p = a.value("--protocol")) {
    if (*p != "jsonschema" && *p != "protobuf") throw CliUsageError("--protocol is jsonschema or protobuf");
    opt.protobuf_json = *p == "protobuf";
  }
  std::optional<int> dam_key_length;  // reading a DAM whose key length must be forced
  if (auto k = a.value("--dam-key-length")) dam_key_length = static_cast<int>(parse_size(*k));
  auto store = open_store_for_reading(a.positional()[0], dam_key_length);
  std::vector<std::string> ids;
  for (std::string& id : store->ids())
    if (auto st = store->stat(id); st && !st->is_directory_marker()) ids.push_back(std::move(id));
  opt.count = ids.size();
  if (jina_dam) return export_jina_dam(*store, ids, a);

  auto write_all = [&](std::ostream& os) {
    auto out = interop::output_to(os);
    auto sink = interop::open_sink(*out, opt);
    for (const std::string& id : ids) {
      auto doc = store->get(id);
      if (!doc) throw UsageError(ENOENT, "document " + id + " vanished during export");
      sink->write(*doc);
    }
    sink->finish();
    out->finish();  // the sink ends the format; the output's owner ends the output
  };
  if (auto path = a.value("-o"); path && *path != "-") {
    std::string tmp = *path + ".tmp";
    try {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      if (!os) throw IoError(errno, "create " + tmp);
      write_all(os);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
    if (::rename(tmp.c_str(), path->c_str()) != 0) throw IoError(errno, "rename " + tmp);
  } else {
    write_all(std::cout);
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> interop_commands() {
  return {
      {"export", "write a store in DocArray's formats (JSON, binary stream, protobuf-array)",
       "usage: docfs export STORE [-o FILE] [--format F] [--compress C] [--protocol P] [--key-length N]\n\n"
       "STORE is a docfs store or a Jina DocumentArrayMemmap directory (read only; its key\n"
       "length detected unless --dam-key-length N).\n"
       "  --format F    json (default; DocArray v0 to_json/from_json), jsonl (one document per\n"
       "                line, Jina's save_json), stream (DocArray's to_bytes/save_binary with\n"
       "                protocol='protobuf'), protobuf-array (save_binary protocol='protobuf-array')\n"
       "  --compress C  stream: per document; protobuf-array: the whole file. none (default),\n"
       "                gzip, zlib, bz2, lzma, lz4\n"
       "  --protocol P  json: jsonschema (default) or protobuf (to_json(protocol='protobuf'))\n"
       "  --format jina-dam -o DIR [--key-length N]: a Jina 2.x DocumentArrayMemmap directory\n"
       "                (DIR new or empty); key length = max(36, longest id) unless N is given,\n"
       "                refused if N would truncate an id. Open it with\n"
       "                DocumentArrayMemmap(DIR, key_length=N) as the output says.\n\n"
       "Every field of every document (tags typed, embeddings with their dtype, chunks, matches,\n"
       "scores), sorted by id; directories are left out. Streamed: memory stays at one document.\n",
       cmd_export},
      {"import", "add documents from DocArray/Jina files (all or nothing)",
       "usage: docfs import STORE SOURCE... [--format F] [--compress C] [--skip-bad] [--key-length N]\n\n"
       "SOURCE is a file, '-' (standard input), or a Jina 2.x DocumentArrayMemmap directory\n"
       "(header.bin + body.bin; read only, its key length detected unless --key-length N). The format is recognized from the first bytes\n"
       "unless --format names it (json, jsonl, stream, protobuf-array); --compress forces the\n"
       "compression (per document in a stream, the whole file for protobuf-array).\n"
       "All or nothing: every document is checked before the store changes, and an error names\n"
       "the file, the document's index and id, and the field. --skip-bad imports the good\n"
       "documents and prints one line per skipped one. Pickles are refused, never run.\n",
       cmd_import},
  };
}

}  // namespace docfs::cli
