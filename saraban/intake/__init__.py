"""OCR intake: scanned paper letters read in the background and proposed as registrations.

A clerk uploads a scan (PDF, PNG, JPEG or TIFF); the worker runs ocrmypdf with Tesseract
(``tha+eng``), keeps a searchable PDF beside the original, and proposes the registration
fields read from the text (number, date, subject, salutation, sender, urgency). The clerk
confirms or corrects them and the letter is registered with the original scan as its file.
"""
