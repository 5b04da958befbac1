"""The console: the GPS pages a CSM, and the customer with a share link, would rather look at.

Owns (tables ``console_*``, migration branch ``console``): sign-in sessions and share links,
each holding the tenant's secret key sealed with the console's own secret. Consumes and produces
no topic: it reads the other services through their public APIs with the tenant's key, so it
sees exactly what an integration would (``gateway``), and turns their answers into pages
(``views``, pure): the portfolio, an account's GPS page, the delivery log, and the read-only page
a share link opens.
"""
