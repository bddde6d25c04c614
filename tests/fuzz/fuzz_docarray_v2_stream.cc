// Fuzzes DocArray v2's file:// stream reader (framing, gzip per document, DocProto parsing
// and conversion) and, since gzip hides most DocProto bytes from the fuzzer, the DocProto
// conversion directly: input starting with 'P' is one raw DocProto. Every document read is
// written back (document_to_v2) and read again; the model view must survive.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"
#include "interop/docarray_v2.h"
#include "interop/docarray_v2_stream.h"

namespace {

class BytesInput : public docfs::interop::ByteInput {
 public:
  BytesInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t read(char* buf, size_t n) override {
    size_t k = std::min(n, size_ - pos_);
    std::memcpy(buf, data_ + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void round_trip(const docfs::Document& d) {
  std::string again;
  try {
    again = docfs::interop::document_to_v2(d);
  } catch (const docfs::UsageError&) {
    return;  // a field the format cannot hold (e.g. a tag that no longer fits): refused, fine
  }
  docfs::Document back = docfs::interop::document_from_v2(again, d.meta.foreign_class);
  back.meta.foreign_record = d.meta.foreign_record;
  if (!(back == d)) std::abort();  // what the mount showed must be what is pushed
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == 'P') {
    try {
      round_trip(docfs::interop::document_from_v2(std::string(reinterpret_cast<const char*>(data) + 1, size - 1), ""));
    } catch (const docfs::Error&) {
    }
    return 0;
  }
  auto src = docfs::interop::docarray_v2_source(std::make_unique<BytesInput>(data, size));
  for (int docs = 0; docs < 10000; ++docs) {
    try {
      auto d = src->next();
      if (!d) break;
      round_trip(*d);
    } catch (const docfs::interop::BadDocument&) {
      continue;  // the framing is intact: the next document is readable
    } catch (const docfs::Error&) {
      break;
    }
  }
  return 0;
}
