"""Citizens: the public app (PWA), feedback (phản ánh, kiến nghị) and personal data under Law 91/2025/QH15."""
