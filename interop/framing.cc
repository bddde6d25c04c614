#include "interop/framing.h"

#include <algorithm>

#include "interop/document_io.h"

namespace docfs::interop {
namespace {

constexpr size_t kReadPiece = 1 << 20;

// Field 1 (the id in both schemas) when it opens the message; "" otherwise.
std::string leading_id(std::string_view b) {
  if (b.size() < 2 || b[0] != 0x0a) return "";
  uint64_t len = 0;
  size_t i = 1;
  for (int shift = 0; i < b.size() && shift < 63; shift += 7, ++i) {
    len |= static_cast<uint64_t>(static_cast<unsigned char>(b[i]) & 0x7f) << shift;
    if (!(static_cast<unsigned char>(b[i]) & 0x80)) break;
  }
  ++i;
  if (i > b.size() || len > 4095 || b.size() - i < len) return "";
  return std::string(b.substr(i, len));
}

}  // namespace

size_t read_growing(ByteInput& in, uint64_t n, std::string& out) {
  out.clear();
  while (out.size() < n) {
    size_t old = out.size();
    size_t piece = static_cast<size_t>(std::min<uint64_t>(n - old, std::max(kReadPiece, old)));
    out.resize(old + piece);
    size_t got = in.read_full(out.data() + old, piece);
    out.resize(old + got);
    if (got < piece) break;
  }
  return out.size();
}

Document parse_document(std::string_view bytes, ProtoSchema schema, uint64_t index) {
  try {
    return document_from_proto(bytes, schema);
  } catch (const BadDocument&) {
    throw;
  } catch (const FormatError& e) {
    throw BadDocument(index, leading_id(bytes), e.what());
  } catch (const UsageError& e) {
    throw BadDocument(index, leading_id(bytes), e.what());
  }
}

std::string serialize_document(const Document& doc, uint64_t index) {
  try {
    return document_to_proto(doc);
  } catch (const UsageError& e) {
    throw BadDocument(index, doc.meta.id, e.what());
  }
}

}  // namespace docfs::interop
