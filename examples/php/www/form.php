<?php
// A POSTed form: redirect back to the greeting (Location: makes it a 302).
$name = trim($_POST['name'] ?? '');
header('Location: /?name=' . rawurlencode($name === '' ? 'anonymous' : $name));
