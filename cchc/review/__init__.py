"""Review meetings (giao ban): compile each unit's progress, write the report and the draft
conclusion notice, and follow the notice's conclusions up as tasks."""
