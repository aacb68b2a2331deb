"""The notifier: tells the data subject what happens to their request, by email or by letter."""
