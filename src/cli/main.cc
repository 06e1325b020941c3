// Entry point: hands argv to the CLI dispatcher (src/cli/app.h).
#include "cli/app.h"

int main(int argc, char** argv) { return vecsafe::cli::RunApp(argc, argv); }
