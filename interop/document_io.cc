#include "interop/document_io.h"

#include <cctype>

#include "interop/binary_stream.h"
#include "interop/docarray_json.h"
#include "interop/protobuf_array.h"

namespace docfs::interop {
namespace {

constexpr size_t kSniffBytes = 16;

std::string hex_of(std::string_view b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b.substr(0, 8)) {
    out += digits[c >> 4];
    out += digits[c & 15];
    out += ' ';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

[[noreturn]] void refuse_pickle() {
  throw UsageError(EINVAL,
                   "this is a pickle (DocArray protocol='pickle' or 'pickle-array'); docfs never runs "
                   "pickles. Save it with protocol='protobuf' (to_bytes/save_binary, the stream format) "
                   "or protocol='protobuf-array', or with to_json(), and import that");
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "auto") return Format::kAuto;
  if (name == "json") return Format::kJson;
  if (name == "jsonl") return Format::kJsonl;
  if (name == "stream") return Format::kStream;
  if (name == "protobuf-array") return Format::kProtobufArray;
  if (name == "pickle" || name == "pickle-array") refuse_pickle();
  return std::nullopt;
}

std::string_view format_name(Format f) {
  switch (f) {
    case Format::kAuto: return "auto";
    case Format::kJson: return "json";
    case Format::kJsonl: return "jsonl";
    case Format::kStream: return "stream";
    case Format::kProtobufArray: return "protobuf-array";
  }
  return "?";
}

Detected detect_format(std::string_view b) {
  size_t i = 0;
  while (i < b.size() && std::isspace(static_cast<unsigned char>(b[i]))) ++i;
  if (i < b.size() && b[i] == '[') return {Format::kJson, Compression::kNone};
  if (i < b.size() && b[i] == '{') return {Format::kJsonl, Compression::kNone};
  if (b.empty()) return {Format::kProtobufArray, Compression::kNone};  // an empty DocumentArrayProto
  unsigned char first = static_cast<unsigned char>(b[0]);
  if (first == 0x80 && b.size() >= 2 && b[1] >= 2 && b[1] <= 5) refuse_pickle();
  if (first == 0x01 && b.size() >= 9) return {Format::kStream, Compression::kNone};
  if (first == 0x0a) return {Format::kProtobufArray, Compression::kNone};  // field 1 (docs), length-delimited
  if (Compression c = sniff_compression(b); c != Compression::kNone) return {Format::kProtobufArray, c};
  throw UsageError(EINVAL, "cannot tell the format from the first bytes (" + hex_of(b) +
                               "); give --format json, jsonl, stream or protobuf-array");
}

std::unique_ptr<DocumentSource> open_source(std::unique_ptr<ByteInput> in, const SourceOptions& opt) {
  Format format = opt.format;
  Compression whole = opt.format == Format::kProtobufArray ? opt.compression : Compression::kNone;
  if (format == Format::kAuto || whole == Compression::kAuto) {
    std::string head(kSniffBytes, '\0');
    head.resize(in->read_full(head.data(), head.size()));
    Detected d = detect_format(head);
    in = prefixed(std::move(head), std::move(in));
    if (format == Format::kAuto) format = d.format;
    if (whole == Compression::kAuto || opt.format == Format::kAuto) whole = d.whole_file;
    if (whole != Compression::kNone) {
      // A compressed file: look inside once (a compressed pickle is refused the same way).
      in = decompressing(std::move(in), whole);
      std::string inner(kSniffBytes, '\0');
      inner.resize(in->read_full(inner.data(), inner.size()));
      Detected d2 = detect_format(inner);
      if (d2.whole_file != Compression::kNone)
        throw UsageError(EINVAL, "the file is compressed twice (" + std::string(compression_name(whole)) + " then " +
                                     std::string(compression_name(d2.whole_file)) + ")");
      in = prefixed(std::move(inner), std::move(in));
      if (opt.format == Format::kAuto) format = d2.format;
    }
  } else if (whole != Compression::kNone) {
    in = decompressing(std::move(in), whole);
  }
  switch (format) {
    case Format::kJson: return json_source(std::move(in), false);
    case Format::kJsonl: return json_source(std::move(in), true);
    case Format::kStream:
      return stream_source(std::move(in), opt.format == Format::kStream ? opt.compression : Compression::kAuto);
    case Format::kProtobufArray: return protobuf_array_source(std::move(in), std::nullopt);
    case Format::kAuto: break;
  }
  throw UsageError(EINVAL, "no format");
}

std::unique_ptr<DocumentSink> open_sink(ByteOutput& out, const SinkOptions& opt) {
  switch (opt.format) {
    case Format::kJson:
    case Format::kJsonl:
      if (opt.compression != Compression::kNone)
        throw UsageError(EINVAL, "--compress is for the stream and protobuf-array formats");
      return json_sink(out, opt.protobuf_json, opt.format == Format::kJsonl);
    case Format::kStream: return stream_sink(out, opt.compression, opt.count);
    case Format::kProtobufArray:
      // DocArray compresses a whole protobuf-array only with a streaming codec
      // (helper.get_compress_ctx): with 'zlib' its save_binary writes the array
      // uncompressed and from_bytes reads it so. A zlib file would not read back there.
      if (opt.compression == Compression::kZlib)
        throw UsageError(EINVAL, "DocArray does not zlib-compress a protobuf-array (it writes it uncompressed); "
                                 "use --compress gzip, bz2, lzma, lz4 or none");
      return protobuf_array_sink(out, opt.compression);
    case Format::kAuto: break;
  }
  throw UsageError(EINVAL, "export needs a format");
}

}  // namespace docfs::interop
