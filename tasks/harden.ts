// Task: harden the SSH daemon and system defaults (implemented with the build issue).
export {};
