"""License knowledge and assessments (see issue 3)."""
