"""Reading a CRM history and turning it into point-in-time features."""
