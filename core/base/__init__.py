"""The bottom layer: errors, files written whole, typed values, and the CPU the engine shares. No torch."""
