# Interface targets shared by every first-party target (never third-party code).
add_library(bottle_settings INTERFACE)
target_compile_features(bottle_settings INTERFACE cxx_std_20)
set(CMAKE_CXX_EXTENSIONS OFF)
# Each function and object in a section of its own, and the link keeps only what is
# reached: an executable carries the part of libbottle it uses (bottle-egress's code
# shrinks by a quarter, and so do the pages every egress maps).
target_compile_options(bottle_settings INTERFACE -ffunction-sections -fdata-sections)
target_link_options(bottle_settings INTERFACE -Wl,--gc-sections)
set(CMAKE_EXPORT_COMPILE_COMMANDS ON)

add_library(bottle_warnings INTERFACE)
target_compile_options(bottle_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
                       # C++20 designated initializers leave fields defaulted on purpose.
                       -Wno-missing-field-initializers)
if(BOTTLE_WERROR)
  target_compile_options(bottle_warnings INTERFACE -Werror)
endif()

if(BOTTLE_SANITIZE)
  target_compile_options(bottle_settings INTERFACE -fsanitize=address,undefined
                         -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(bottle_settings INTERFACE -fsanitize=address,undefined)
endif()

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()
