"""Chain adapters and the local toolchain (anvil, forge, solc) the project starts itself."""
