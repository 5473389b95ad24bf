// Where an installed kcs keeps its data: <prefix>/share/kcs (catalog/, bundles/), found from the
// file that holds this code (libkcs.so or a program linking libkcs.a) in <prefix>/lib or
// <prefix>/bin, so that an installed kcs needs no environment variables.
#pragma once

#include <string>

namespace kcs {

// "<prefix>/share/kcs" when <module dir>/../share/kcs/catalog exists, else "" (a build tree).
std::string installed_data_dir();

}  // namespace kcs
