"""Consent's domain: rules of newsletter consent, cookie choices, policy versions and more."""
