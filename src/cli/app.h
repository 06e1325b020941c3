// The command-line front end: parses argv with CLI11 and runs one verb.
// Each verb lives in its own file (src/cli/<verb>.cc) and registers itself in
// app.cc. Returns the process exit status (see include/vecsafe/error_table.inc).
#ifndef VECSAFE_CLI_APP_H_
#define VECSAFE_CLI_APP_H_

namespace vecsafe::cli {

int RunApp(int argc, char** argv);

}  // namespace vecsafe::cli

#endif  // VECSAFE_CLI_APP_H_
