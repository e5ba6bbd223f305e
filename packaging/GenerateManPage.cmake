# Writes the man pages into OUT, compressed: ponet.1 from the CLI's own option table (`ponet --man`), so the man
# page and `ponet --help` cannot drift, and, when STUDIO_PAGE is given, a copy of the ponet-studio page.
# Run as: cmake -DPONET=<ponet> -DOUT=<dir> [-DSTUDIO_PAGE=<ponet-studio.1>] -P GenerateManPage.cmake
execute_process(COMMAND "${PONET}" --man
                OUTPUT_FILE "${OUT}/ponet.1"
                ERROR_VARIABLE err
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "`${PONET} --man` failed (${rc}): ${err}")
endif()
file(SIZE "${OUT}/ponet.1" size)
if(size LESS 200)
  message(FATAL_ERROR "`${PONET} --man` wrote only ${size} bytes")
endif()
set(pages "${OUT}/ponet.1")
if(STUDIO_PAGE)
  configure_file("${STUDIO_PAGE}" "${OUT}/ponet-studio.1" COPYONLY)
  list(APPEND pages "${OUT}/ponet-studio.1")
endif()
# -n: no name or time stamp in the archive, so the package is reproducible.
execute_process(COMMAND gzip -9nf ${pages} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip of ${pages} failed (${rc})")
endif()
