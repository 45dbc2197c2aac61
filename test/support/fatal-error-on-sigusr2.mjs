// Preloaded into the server by test/log-flush.test.ts (`node --import`): SIGUSR2 makes the process
// meet an uncaught exception, as a bug would, so the test can see what the log keeps of a fatal error.
process.on('SIGUSR2', () => {
  setImmediate(() => {
    throw new Error('fatal error injected by the test');
  });
});
