"""What a loudspeaker plays, resolved in one place (:mod:`loa.playable.resolve`)."""
