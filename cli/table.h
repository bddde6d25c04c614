// Tabular output: aligned columns for a person at a terminal, tab-separated values (no
// header row) for scripts.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace docfs::cli {

class Table {
 public:
  // right_align[i]: column i is numeric and aligned to the right.
  Table(std::vector<std::string> headings, std::vector<bool> right_align)
      : headings_(std::move(headings)), right_(std::move(right_align)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out, bool aligned) const;

 private:
  std::vector<std::string> headings_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace docfs::cli
