// One streaming interface for every foreign format: a DocumentSource yields documents one
// at a time from a byte stream, a DocumentSink writes them one at a time. Memory is bounded
// by the largest single document, never by the file. The CLI's import/export and the
// remote's DocArray push/pull use these and nothing format-specific.
//
// Formats (see README "Interop" and SEMANTICS.md "Foreign formats"):
//   json            DocArray v0 to_json(): protocol='jsonschema' or 'protobuf' (camelCase),
//                   and Jina 2.x field names (buffer = bytes, blob = ndarray)
//   jsonl           one document object per line (Jina 2.x save_json)
//   stream          DocArray v0 binary stream: 0x01, u64 BE count, per document u32 BE
//                   length + DocumentProto, each compressed (the body of v0 push())
//   protobuf-array  one DocumentArrayProto (v0 save_binary), whole file optionally compressed
// Pickle formats are refused by name, never executed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/document.h"
#include "core/error.h"
#include "interop/byte_io.h"
#include "interop/compression.h"

namespace docfs::interop {

enum class Format { kAuto, kJson, kJsonl, kStream, kProtobufArray };

// "json" -> kJson, ...; nullopt for an unknown name.
std::optional<Format> parse_format(std::string_view name);
std::string_view format_name(Format f);

// One document of a file is malformed but the file can be read on past it: what
// `--skip-bad` skips. `index` counts documents from 0; `id` is "" when not known.
class BadDocument : public UsageError {
 public:
  BadDocument(uint64_t index, std::string id, const std::string& why)
      : UsageError(EINVAL, "document " + std::to_string(index) + (id.empty() ? "" : " (id '" + id + "')") +
                               ": " + why),
        index_(index),
        id_(std::move(id)) {}
  uint64_t index() const { return index_; }
  const std::string& id() const { return id_; }

 private:
  uint64_t index_;
  std::string id_;
};

class DocumentSource {
 public:
  virtual ~DocumentSource() = default;
  // The next document, or nullopt at the end of the input. Throws BadDocument for a
  // document the source can step over, FormatError (naming the byte offset) when the
  // input itself is broken and reading cannot go on.
  virtual std::optional<Document> next() = 0;
};

class DocumentSink {
 public:
  virtual ~DocumentSink() = default;
  // Throws UsageError naming the document and field when the format cannot hold it.
  virtual void write(const Document& doc) = 0;
  // Ends the output (array brackets, end marker, count check, compressor trailer).
  virtual void finish() = 0;
};

// Reads the first bytes of `in` and says which format (and outer compression) it is.
// Throws UsageError for pickle and for what no format matches, naming what it saw.
struct Detected {
  Format format;
  Compression whole_file;  // protobuf-array only: the whole file's compression
};
Detected detect_format(std::string_view first_bytes);

struct SourceOptions {
  Format format = Format::kAuto;
  // stream: per-document compression (kAuto = recognize each document's magic);
  // protobuf-array: whole-file compression (kAuto = recognize the magic).
  Compression compression = Compression::kAuto;
};
std::unique_ptr<DocumentSource> open_source(std::unique_ptr<ByteInput> in, const SourceOptions& opt);

struct SinkOptions {
  Format format = Format::kJson;
  // json only: "jsonschema" (DocArray's default) or "protobuf" (MessageToDict layout).
  bool protobuf_json = false;
  // stream: per document; protobuf-array: whole file. kNone by default.
  Compression compression = Compression::kNone;
  // stream: the count the header announces (the stream format needs it up front).
  uint64_t count = 0;
};
std::unique_ptr<DocumentSink> open_sink(ByteOutput& out, const SinkOptions& opt);

}  // namespace docfs::interop
