// Fuzzes the protobuf-array reader (DocumentArrayProto one document at a time) with the
// schema guessed per input, and the whole file decompressed when it has a magic; each
// document read is written back as a DocumentProto (what export would do).
#include <cstdint>
#include <cstring>
#include <string>

#include "core/error.h"
#include "interop/compression.h"
#include "interop/protobuf_array.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace docfs::interop;
  try {
    auto in = decompressing(std::make_unique<BytesInput>(data, size), Compression::kAuto);
    auto src = protobuf_array_source(std::move(in), std::nullopt);
    for (int docs = 0; docs < 10000; ++docs) {
      try {
        auto doc = src->next();
        if (!doc) break;
        try {
          document_to_proto(*doc);
        } catch (const docfs::UsageError&) {
        }
      } catch (const BadDocument&) {
        continue;
      }
    }
  } catch (const docfs::Error&) {
  }
  return 0;
}
