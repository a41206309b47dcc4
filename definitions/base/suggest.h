// "Did you mean" hints: the closest candidate to a misspelt name.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace treaty {

// The candidate with the smallest edit distance to `word`, if that distance
// is small for the word's length (at most 2, and at most half its length);
// "" otherwise. Ties go to the earliest candidate, so hints are stable.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace treaty
