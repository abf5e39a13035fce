"""CCHC: the administrative-reform product built on the generic ``workflows`` engine."""
