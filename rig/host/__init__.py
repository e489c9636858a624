"""Host tuning for the live loop (Linux): short CPU slices, busy polling, timer slack."""
