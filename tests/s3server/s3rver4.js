// @20minutes/s3rver 4.0.4 ships no bin/: run its command line from here.
require('./node_modules/s3rver4/lib/cli.js').parseAsync(process.argv);
