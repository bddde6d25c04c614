#include "cli/table.h"

#include <algorithm>

namespace docfs::cli {

void Table::print(std::ostream& out, bool aligned) const {
  if (!aligned) {
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); ++i) out << (i ? "\t" : "") << row[i];
      out << "\n";
    }
    return;
  }
  std::vector<size_t> width(headings_.size());
  for (size_t i = 0; i < headings_.size(); ++i) width[i] = headings_[i].size();
  for (const auto& row : rows_)
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      const bool last = i + 1 == row.size();
      std::string pad(i < width.size() ? width[i] - std::min(width[i], row[i].size()) : 0, ' ');
      if (i) out << "  ";
      if (i < right_.size() && right_[i])
        out << pad << row[i];
      else
        out << row[i] << (last ? "" : pad);
    }
    out << "\n";
  };
  line(headings_);
  for (const auto& row : rows_) line(row);
}

}  // namespace docfs::cli
