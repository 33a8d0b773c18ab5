"""The consent service: newsletter, cookies, correspondence, policy versions, complaints."""
