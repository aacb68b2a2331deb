"""The locator: finds a verified request's subject across the company's systems."""
