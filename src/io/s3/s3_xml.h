// Just enough XML for S3's answers (ListObjectsV2, errors, multipart): the
// documents are flat, machine-written and small, so a tag scanner is enough.
// Never throws; malformed input yields empty results.
#ifndef VECSAFE_IO_S3_S3_XML_H_
#define VECSAFE_IO_S3_S3_XML_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vecsafe::s3 {

// Decodes &amp; &lt; &gt; &quot; &apos; and numeric (&#NN; &#xHH;) references.
std::string XmlUnescape(std::string_view s);
// Raw inner text of the first <tag>...</tag> (or <tag attr="...">...</tag>).
std::optional<std::string_view> XmlFirst(std::string_view doc, std::string_view tag);
// Raw inner texts of every <tag>...</tag>, in order (not nested in each other).
std::vector<std::string_view> XmlAll(std::string_view doc, std::string_view tag);
// XmlFirst, unescaped; empty when missing.
std::string XmlText(std::string_view doc, std::string_view tag);
// Escapes & < > " for element text.
std::string XmlEscape(std::string_view s);

}  // namespace vecsafe::s3

#endif  // VECSAFE_IO_S3_S3_XML_H_
