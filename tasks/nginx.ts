// Task: install and configure nginx with a given number of workers (implemented with the build issue).
export {};
