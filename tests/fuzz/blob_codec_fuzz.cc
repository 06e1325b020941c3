// Decoding arbitrary bytes as a stored blob must never crash: it either
// yields a plaintext or fails with kDataLoss. Both plaintext and encrypted
// codecs are exercised; a successful plaintext decode must re-encode and
// decode to the same bytes. Delta blobs (0x03) are decoded against one fixed
// base, whatever base id they name (seeds plain_delta / enc_delta use it).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "repo/blob_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vecsafe::repo::BlobCodec;
  using vecsafe::repo::BlobCodecOptions;
  // The corpus seeds were made with these options (zero master key).
  static const BlobCodec plain{[] {
    BlobCodecOptions o;
    o.max_plaintext_size = 1 << 20;
    return o;
  }()};
  static const BlobCodec encrypted{[] {
    BlobCodecOptions o;
    o.max_plaintext_size = 1 << 20;
    o.keys = vecsafe::repo::BlobKeys::FromMaster(vecsafe::repo::Key256{});
    return o;
  }()};
  static const std::string base = [] {
    std::string b(8192, '\0');
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>((i * 2654435761u) >> 13);
    return b;
  }();
  static const vecsafe::repo::BaseReader reader = [](const vecsafe::repo::Hash256&,
                                                     std::string* out) {
    out->append(base);
    return vecsafe::Status::OK();
  };
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const BlobCodec* codec : {&plain, &encrypted}) {
    std::string out;
    const vecsafe::Status st = codec->Decode(in, &out, {}, &reader);
    if (st.ok()) {
      std::string again;
      if (!codec->Encode(out, &again).ok()) std::abort();
      std::string back;
      if (!codec->Decode(again, &back).ok() || back != out) std::abort();
    } else if (st.code() != vecsafe::ErrorCode::kDataLoss || !out.empty()) {
      std::abort();
    }
  }
  return 0;
}
